"""Whose Replicas account a request acts for.

A tenant is one Replicas API key with everything the server keeps for it: the
client that sends the key, the watchers following its replicas, and the bus
that carries their change notifications to its listen streams. Nothing is
shared between tenants but the connection pool, so one tenant's streams and
notifications never reach another.

Single-tenant servers (stdio, or HTTP without `--multi-tenant`) have one tenant,
the configured key. Multi-tenant servers make one per key that HTTP requests
bring in `Authorization: Bearer <key>`; a request without one belongs to no
tenant, and never falls back to another's key.
"""

import hashlib
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx2
from anyio.abc import TaskGroup
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler

from ..api import ReplicasClient
from ..config import Settings
from .live import Watchers

# Tenants nobody follows a replica of are forgotten beyond this many, so a
# stream of made-up keys cannot grow the server's memory without bound.
MAX_IDLE_TENANTS = 256
# Every followed replica holds one connection for its event stream; a team
# following many must not starve the pool that short calls need too.
POOL_LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)

NO_KEY = (
    "this server is multi-tenant: it acts with the Replicas API key each HTTP "
    "request carries, and this request carried none. Configure the MCP client to "
    "send the header `Authorization: Bearer sk_replicas_...` with your own key"
)


@dataclass(frozen=True, eq=False)
class Tenant:
    """One Replicas API key and the state the server keeps for it."""

    client: ReplicasClient
    watchers: Watchers
    bus: InMemorySubscriptionBus
    listen: ListenHandler


class Tenants:
    """The tenants of one running server, found by the request's headers."""

    def __init__(
        self,
        task_group: TaskGroup,
        *,
        client: ReplicasClient | None = None,
        bus: InMemorySubscriptionBus | None = None,
        connect: Callable[[str], ReplicasClient] | None = None,
    ) -> None:
        """Serve one tenant with `client`, or one per key built by `connect`.

        Exactly one of `client` and `connect` is given. The single tenant uses
        `bus`, the server's own, so notifications published through the SDK
        reach its listeners too.
        """
        if (client is None) == (connect is None):
            raise ValueError("give exactly one of client and connect")

        self._task_group = task_group
        self._connect = connect
        self._single = self._tenant(client, bus) if client is not None else None
        self._keyed: OrderedDict[str, Tenant] = OrderedDict()

    def of(self, headers: Mapping[str, str] | None) -> Tenant | None:
        """The tenant a request with these headers acts for, or None if no key."""
        if self._single is not None:
            return self._single

        key = bearer(headers.get("authorization") if headers is not None else None)
        return self.for_key(key) if key is not None else None

    def for_key(self, key: str) -> Tenant:
        """The tenant of an API key, made on first use."""
        assert self._connect is not None, "single-tenant servers have no keys"
        fingerprint = key_fingerprint(key)
        tenant = self._keyed.get(fingerprint)
        if tenant is None:
            tenant = self._tenant(self._connect(key), None)
            self._keyed[fingerprint] = tenant
            self._forget_idle()
        else:
            self._keyed.move_to_end(fingerprint)

        return tenant

    def _tenant(
        self, client: ReplicasClient, bus: InMemorySubscriptionBus | None
    ) -> Tenant:
        bus = bus or InMemorySubscriptionBus()
        watchers = Watchers(client, self._task_group)
        return Tenant(
            client=client, watchers=watchers, bus=bus, listen=ListenHandler(bus)
        )

    def _forget_idle(self) -> None:
        """Drop the least recently used tenants that follow nothing."""
        idle = [
            fingerprint
            for fingerprint, tenant in self._keyed.items()
            if tenant.watchers.open_count == 0
        ]
        for fingerprint in idle[: max(0, len(idle) - MAX_IDLE_TENANTS)]:
            del self._keyed[fingerprint]


@asynccontextmanager
async def keyed_clients(
    settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None
) -> AsyncGenerator[Callable[[str], ReplicasClient]]:
    """A maker of per-key clients sharing one connection pool, closed on exit.

    `transport` replaces the network, e.g. with `httpx2.MockTransport`.
    """
    # A cookie one tenant's answer sets would go out with every tenant's
    # requests from a shared jar, so the pool keeps none.
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx2.AsyncClient(
        base_url=settings.base_url,
        limits=POOL_LIMITS,
        cookies=no_cookies,
        transport=transport,
    ) as pool:

        def connect(key: str) -> ReplicasClient:
            # The client sends its key with each request, not as a pool
            # default, so the pool never carries one tenant's key to another.
            return ReplicasClient(
                api_key=key,
                base_url=settings.base_url,
                timeout=settings.timeout,
                connect_timeout=settings.connect_timeout,
                http_client=pool,
            )

        yield connect


def bearer(authorization: str | None) -> str | None:
    """The credential of an `Authorization: Bearer ...` value, if there is one."""
    scheme, _, credential = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None

    return credential.strip()


def key_fingerprint(key: str) -> str:
    """A stand-in for a key wherever one must be stored or compared by value."""
    return hashlib.sha256(key.encode()).hexdigest()
