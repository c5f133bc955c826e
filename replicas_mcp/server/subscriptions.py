"""Resource subscriptions on both protocol revisions, fed by replica streams.

A subscriber to `replicas://replica/{id}` or its `/diffs` hears
`notifications/resources/updated` when the replica's event stream says that
resource changed. Subscriptions to one replica share one upstream stream,
which closes with the last unsubscribe or disconnect. All of this is per
tenant (`tenants.py`): each has its own streams and listen bus, so a change
is only ever announced to subscribers acting with the key that saw it.

* 2026-07-28: `subscriptions/listen` names its URIs up front and lasts as long
  as its response stream; the SDK's handler is wrapped to hold the streams.
* 2025-11-25: `resources/subscribe` and `unsubscribe` are not served by
  `MCPServer` 2.3.0, so they are registered on its low-level server, and a
  connection's subscriptions end with the connection.
"""

import logging
import re
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from typing import Any, cast

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_REQUEST,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)

from .live import Watchers
from .state import AppState, require_tenant
from .tenants import Tenant

logger = logging.getLogger(__name__)

_URI = re.compile(r"^replicas://replica/(?P<id>[0-9a-fA-F-]{36})(?P<diffs>/diffs)?$")
_KIND = {False: "status", True: "diffs"}
_LEGACY_KEY = "replicas_mcp.subscriptions"

RequestContext = ServerRequestContext[AppState, Any]


def target(uri: str) -> tuple[str, str] | None:
    """The replica id and change kind a subscribable URI follows, or None."""
    match = _URI.match(uri)
    if match is None:
        return None

    return match["id"].lower(), _KIND[bool(match["diffs"])]


def register_subscriptions(server: MCPServer[AppState]) -> None:
    """Serve subscriptions for both protocol revisions on `server`."""
    # A tenant's bus reaches every listen stream of that tenant, and only
    # those, so one forwarding per tenant and URI serves them all:
    # (forwarding, number of streams).
    published: dict[tuple[Tenant, str], tuple[_Forwarding, int]] = {}

    def hold(tenant: Tenant, uri: str, following: tuple[str, str]) -> None:
        forwarding, streams = published.get((tenant, uri), (None, 0))
        if forwarding is None:
            publish = _publisher(tenant.bus, uri)
            forwarding = _Forwarding(tenant.watchers, uri, following, publish)
            forwarding.__enter__()
        published[tenant, uri] = (forwarding, streams + 1)

    def let_go(tenant: Tenant, uri: str) -> None:
        forwarding, streams = published.pop((tenant, uri))
        if streams > 1:
            published[tenant, uri] = (forwarding, streams - 1)
        else:
            forwarding.__exit__()

    async def listen_with_streams(
        ctx: RequestContext, params: SubscriptionsListenRequestParams
    ) -> Any:
        tenant = _tenant(ctx)
        uris = params.notifications.resource_subscriptions or []
        held: list[str] = []
        try:
            for uri in dict.fromkeys(map(str, uris)):
                following = target(uri)
                if following is not None:
                    hold(tenant, uri, following)
                    held.append(uri)
            return await tenant.listen(ctx, params)
        finally:
            for uri in held:
                let_go(tenant, uri)

    async def subscribe(
        ctx: RequestContext, params: SubscribeRequestParams
    ) -> EmptyResult:
        uri = str(params.uri)
        following = target(uri)
        subscriptions = _legacy(ctx)
        if following is None or uri in subscriptions:
            return EmptyResult()

        session = ctx.session
        watchers = _tenant(ctx).watchers

        async def send() -> None:
            await session.send_resource_updated(uri)

        stack = AsyncExitStack()
        stack.enter_context(_Forwarding(watchers, uri, following, send))
        subscriptions[uri] = stack
        return EmptyResult()

    async def unsubscribe(
        ctx: RequestContext, params: UnsubscribeRequestParams
    ) -> EmptyResult:
        stack = _legacy(ctx).pop(str(params.uri), None)
        if stack is not None:
            await stack.aclose()
        return EmptyResult()

    # MCPServer 2.3.0 has no public way to add these; its low-level server
    # is the documented seam.
    lowlevel = server._lowlevel_server  # pyright: ignore[reportPrivateUsage]
    lowlevel.add_request_handler(
        "subscriptions/listen", SubscriptionsListenRequestParams, listen_with_streams
    )
    lowlevel.add_request_handler(
        "resources/subscribe", SubscribeRequestParams, subscribe
    )
    lowlevel.add_request_handler(
        "resources/unsubscribe", UnsubscribeRequestParams, unsubscribe
    )


class _Forwarding:
    """Hold a replica's watcher and forward its changes of one kind to `send`."""

    def __init__(
        self,
        watchers: Watchers,
        uri: str,
        following: tuple[str, str],
        send: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._watchers = watchers
        self._uri = uri
        self._replica_id, self._kind = following
        self._send = send

    def _listener(self, kinds: frozenset[str]) -> None:
        if self._kind in kinds:
            self._watchers.spawn(self._deliver)

    async def _deliver(self) -> None:
        try:
            await self._send()
        except Exception:  # a gone client must not take the watcher down
            logger.info("could not notify a subscriber of %s", self._uri)

    def __enter__(self) -> "_Forwarding":
        watcher = self._watchers.acquire(self._replica_id)
        watcher.listeners.add(self._listener)
        return self

    def __exit__(self, *_: object) -> None:
        """Stop forwarding; the stream closes if nobody else follows it."""
        watcher = self._watchers.get(self._replica_id)
        if watcher is not None:
            watcher.listeners.discard(self._listener)
        self._watchers.release(self._replica_id)


def _tenant(ctx: RequestContext) -> Tenant:
    return require_tenant(ctx, lambda message: MCPError(INVALID_REQUEST, message))


def _publisher(
    bus: InMemorySubscriptionBus, uri: str
) -> Callable[[], Coroutine[Any, Any, None]]:
    async def publish() -> None:
        await bus.publish(ResourceUpdated(uri=uri))

    return publish


def _legacy(ctx: RequestContext) -> dict[str, AsyncExitStack]:
    """This connection's 2025-style subscriptions, closed when it closes."""
    # The connection is not public on the request context in 2.3.0.
    connection = ctx.session._connection  # pyright: ignore[reportPrivateUsage]
    found = connection.state.get(_LEGACY_KEY)
    if found is not None:
        return cast(dict[str, AsyncExitStack], found)

    subscriptions: dict[str, AsyncExitStack] = {}
    connection.state[_LEGACY_KEY] = subscriptions

    async def close_all() -> None:
        for stack in list(subscriptions.values()):
            await stack.aclose()
        subscriptions.clear()

    connection.exit_stack.push_async_callback(close_all)
    return subscriptions
