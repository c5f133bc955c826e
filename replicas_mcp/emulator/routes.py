"""Route handlers of the emulated `/v1` API."""

from datetime import datetime
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import views
from .errors import ApiError, bad_request, not_found
from .events import EventStreamResponse
from .records import ACTIVE, Chat, Replica
from .seed import EnvironmentSeed, OrganizationSeed
from .state import EmulatorState
from .validation import (
    SOURCES,
    STATUSES,
    check_api_version,
    is_uuid,
    parse_create,
    parse_create_chat,
    parse_json_object,
    parse_reorder,
    parse_send,
    query_choice,
    query_int,
)

Json = dict[str, Any]

ORGANIZATION_SCOPE_KEY = "replicas_emulator.organization"

NOT_IMPLEMENTED = (
    ("GET", "/v1/replica/{id}/chats/{chat_id}/slash-commands"),
    ("GET", "/v1/replica/{id}/canvas"),
    ("GET", "/v1/replica/{id}/canvas/{filename}"),
    ("GET", "/v1/replica/{id}/read"),
    ("POST", "/v1/replica/{id}/send"),
    ("GET", "/v1/workspaces/{id}/chats"),
    ("POST", "/v1/workspaces/{id}/chats"),
    ("POST", "/v1/workspaces/{id}/chats/{chat_id}/messages"),
    ("POST", "/v1/workspaces/{id}/messages/deferred"),
)
"""Contract routes (§4) the emulator answers with 501."""


def tail_window(total: int, limit: int | None, offset: int) -> tuple[int, int]:
    """Return `[start, end)` of a history page counted from the newest (A10)."""
    end = max(total - offset, 0)
    start = 0 if limit is None else max(end - limit, 0)
    return start, end


def _includes(request: Request) -> set[str]:
    raw = request.query_params.get("include", "")
    return {token.strip().lower() for token in raw.split(",") if token.strip()}


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


class Handlers:
    """The endpoints, bound to one emulator state."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.config = state.config

    def routes(self) -> list[BaseRoute]:
        """Return the route table; fixed paths come before `{id}` patterns."""
        table: list[BaseRoute] = [
            Route("/v1/replica/repositories", self.list_repositories, methods=["GET"]),
            Route(
                "/v1/replica/repository-sets",
                self.list_repository_sets,
                methods=["GET"],
            ),
            Route("/v1/replica", self.list_replicas, methods=["GET"]),
            Route("/v1/replica", self.create_replica, methods=["POST"]),
            Route("/v1/replica/{id}", self.get_replica, methods=["GET"]),
            Route("/v1/replica/{id}", self.delete_replica, methods=["DELETE"]),
            Route("/v1/replica/{id}/messages", self.send_message, methods=["POST"]),
            Route("/v1/replica/{id}/chats", self.list_chats, methods=["GET"]),
            Route("/v1/replica/{id}/chats", self.create_chat, methods=["POST"]),
            Route(
                "/v1/replica/{id}/chats/{chat_id}",
                self.delete_chat,
                methods=["DELETE"],
            ),
            *self._queue_routes(),
            Route("/v1/replica/{id}/history", self.read_history, methods=["GET"]),
            Route("/v1/replica/{id}/hooks", self.get_hooks, methods=["GET"]),
            Route("/v1/replica/{id}/events", self.stream_events, methods=["GET"]),
            Route("/v1/workspaces/{id}/sleep", self.sleep, methods=["POST"]),
            Route("/v1/workspaces/{id}/archive", self.archive, methods=["POST"]),
            Route("/v1/environments", self.list_environments, methods=["GET"]),
            Route("/v1/environments/{id}", self.get_environment, methods=["GET"]),
        ]
        table += [
            Route(path, self.not_implemented, methods=[method])
            for method, path in NOT_IMPLEMENTED
        ]
        return table

    def _queue_routes(self) -> list[BaseRoute]:
        queue = "/v1/replica/{id}/chats/{chat_id}/queue"
        return [
            Route(queue, self.get_queue, methods=["GET"]),
            Route(queue, self.clear_queue, methods=["DELETE"]),
            Route(f"{queue}/reorder", self.reorder_queue, methods=["PATCH"]),
            Route(f"{queue}/{{message_id}}", self.drop_queued, methods=["DELETE"]),
        ]

    # Helpers

    def _org(self, request: Request) -> OrganizationSeed:
        return cast(OrganizationSeed, request.scope[ORGANIZATION_SCOPE_KEY])

    def _replica(self, request: Request) -> Replica:
        replica_id = str(request.path_params["id"])
        return self.state.replica(self._org(request).name, replica_id)

    def _chat(self, request: Request) -> tuple[Replica, Chat]:
        replica = self._replica(request)
        chat = self.state.chat(replica, str(request.path_params["chat_id"]))
        return replica, chat

    async def _body(self, request: Request) -> Json:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)

        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)

        return parse_json_object(b"".join(chunks))

    # Repositories and environments

    async def list_repositories(self, request: Request) -> Response:
        """GET /v1/replica/repositories."""
        org = self._org(request)
        repos = [views.repository(r) for r in org.repositories.values()]
        return _json({"repositories": repos})

    async def list_repository_sets(self, request: Request) -> Response:
        """GET /v1/replica/repository-sets."""
        org = self._org(request)
        sets = [views.repository_set(org, s) for s in org.repository_sets.values()]
        return _json({"repository_sets": sets})

    async def list_environments(self, request: Request) -> Response:
        """GET /v1/environments; API keys own no personal environments."""
        org = self._org(request)
        scope = query_choice(request.query_params, "scope", ("org", "user", "all"))
        found = [] if scope == "user" else list(org.environments.values())
        return _json({"environments": [views.environment(org, e) for e in found]})

    async def get_environment(self, request: Request) -> Response:
        """GET /v1/environments/{id}; `global` names the org-wide layer."""
        org = self._org(request)
        env = _environment(org, str(request.path_params["id"]))
        return _json({"environment": views.environment(org, env)})

    # Replicas

    async def list_replicas(self, request: Request) -> Response:
        """GET /v1/replica with paging, filters and §5.4 ordering."""
        params = request.query_params
        page = query_int(params, "page", 1, minimum=1) or 1
        limit = query_int(params, "limit", 10, minimum=1, maximum=100) or 10
        source = query_choice(params, "source", SOURCES)
        status = query_choice(params, "status", STATUSES)

        replicas = self.state.replicas(self._org(request).name)
        if params.get("user_id"):
            replicas = []  # API-key replicas have no human owner.
        if source is not None:
            replicas = [r for r in replicas if r.source == source]
        if status is not None:
            replicas = [r for r in replicas if r.status == status]
        if status == "archived":
            replicas.sort(key=_recency, reverse=True)

        total = len(replicas)
        window = replicas[(page - 1) * limit : page * limit]
        return _json(
            {
                "replicas": [views.list_item(r) for r in window],
                "total": total,
                "page": page,
                "limit": limit,
                "total_pages": -(-total // limit),
            }
        )

    async def create_replica(self, request: Request) -> Response:
        """POST /v1/replica; waits for `active` unless the version header is set."""
        strict = self.config.strict_enums
        version = request.headers.get("x-replicas-api-version")
        returns_at_once = check_api_version(version, strict=strict)
        body = await self._body(request)
        create = parse_create(body, strict_enums=strict)

        replica = self.state.create_replica(self._org(request).name, create)
        if not returns_at_once:
            await self.state.wait_until_settled(replica)

        return _json({"replica": views.list_item(replica)}, 201)

    async def get_replica(self, request: Request) -> Response:
        """GET /v1/replica/{id}; reading a dormant replica wakes it (A9)."""
        replica = self._replica(request)
        previous = self.state.wake(replica)
        details = views.replica_details(
            replica,
            status=previous,
            waking=replica.waking,
            includes=_includes(request),
            engine_version=self.config.engine_version,
        )
        return _json({"replica": details})

    async def delete_replica(self, request: Request) -> Response:
        """DELETE /v1/replica/{id}."""
        self.state.delete(self._replica(request))
        return _json({"success": True})

    async def sleep(self, request: Request) -> Response:
        """POST /v1/workspaces/{id}/sleep."""
        return _json({"success": self.state.sleep(self._replica(request))})

    async def archive(self, request: Request) -> Response:
        """POST /v1/workspaces/{id}/archive."""
        return _json({"success": self.state.archive(self._replica(request))})

    # Messages and chats

    async def send_message(self, request: Request) -> Response:
        """POST /v1/replica/{id}/messages."""
        replica = self._replica(request)
        body = await self._body(request)
        send = parse_send(
            body,
            strict_enums=self.config.strict_enums,
            current_agent=replica.coding_agent,
        )
        return _json(self.state.send_message(replica, send))

    async def list_chats(self, request: Request) -> Response:
        """GET /v1/replica/{id}/chats; chats are engine data, absent while waking."""
        replica = self._replica(request)
        self.state.wake(replica)
        if replica.status != ACTIVE:
            return _json({"chats": [], "waking": replica.waking})

        chats = [views.chat(c) for c in replica.chats.values()]
        return _json({"chats": chats, "waking": False})

    async def create_chat(self, request: Request) -> Response:
        """POST /v1/replica/{id}/chats; answers the bare chat."""
        replica = self._replica(request)
        body = await self._body(request)
        chat_input = parse_create_chat(body, strict_enums=self.config.strict_enums)
        chat = self.state.create_chat(replica, chat_input)
        return _json(views.chat(chat), 201)

    async def delete_chat(self, request: Request) -> Response:
        """DELETE /v1/replica/{id}/chats/{chat_id}."""
        replica = self._replica(request)
        self.state.delete_chat(replica, str(request.path_params["chat_id"]))
        return _json({"success": True})

    # The chat queue (§5.12). The API keeps what waits, so these answer in
    # every state and wake nothing: messages parked while the workspace sleeps
    # or boots are in the queue too.

    async def get_queue(self, request: Request) -> Response:
        """GET .../chats/{chat_id}/queue: the messages no turn has taken yet."""
        _, chat = self._chat(request)
        return _json(views.chat_queue(chat))

    async def clear_queue(self, request: Request) -> Response:
        """DELETE .../chats/{chat_id}/queue; the running turn goes on."""
        replica, chat = self._chat(request)
        changed = self.state.edit_queue(replica, chat, chat.clear_waiting)
        return _json(views.queue_mutation(chat, changed))

    async def drop_queued(self, request: Request) -> Response:
        """DELETE .../queue/{message_id}; a message not waiting is no change."""
        replica, chat = self._chat(request)
        message_id = str(request.path_params["message_id"])
        changed = self.state.edit_queue(
            replica, chat, lambda: chat.drop_waiting(message_id)
        )
        return _json(views.queue_mutation(chat, changed))

    async def reorder_queue(self, request: Request) -> Response:
        """PATCH .../queue/reorder with `{messageId, position}` (0-based)."""
        replica, chat = self._chat(request)
        move = parse_reorder(await self._body(request))
        changed = self.state.edit_queue(
            replica, chat, lambda: chat.move_waiting(move.message_id, move.position)
        )
        return _json(views.queue_mutation(chat, changed))

    async def read_history(self, request: Request) -> Response:
        """GET /v1/replica/{id}/history, tail-paged (A10, A11)."""
        replica = self._replica(request)
        params = request.query_params
        limit = query_int(params, "limit", None, minimum=1)
        offset = query_int(params, "offset", 0, minimum=0) or 0
        chat_id = params.get("chat_id") or None

        self.state.wake(replica)
        if replica.status != ACTIVE:
            empty: Json = {"thread_id": None, "events": [], "total": 0}
            return _json({**empty, "has_more": False, "waking": replica.waking})

        return _json(self._history(replica, chat_id, limit, offset))

    def _history(
        self, replica: Replica, chat_id: str | None, limit: int | None, offset: int
    ) -> Json:
        records = replica.history
        senders = replica.senders
        if chat_id is not None:
            chat = replica.chats.get(chat_id)
            if chat is None:
                raise not_found("Chat", chat_id)
            records = [r for r in records if r.chat_id == chat_id]
            senders = [s for s in senders if s.chat_id == chat_id]
        else:
            chat = self.state.default_chat(replica, replica.coding_agent)

        start, end = tail_window(len(records), limit, offset)
        return {
            "thread_id": None if chat is None else chat.thread_id,
            "events": [r.event for r in records[start:end]],
            "total": len(records),
            "has_more": start > 0,
            "coding_agent": replica.coding_agent,
            "waking": False,
            "senders": [views.sender(s) for s in senders],
        }

    async def get_hooks(self, request: Request) -> Response:
        """GET /v1/replica/{id}/hooks: the logs of the latest hook runs."""
        replica = self._replica(request)
        return _json(
            {
                "warm_hooks": {"logs": replica.warm_hook_logs},
                "start_hooks": {"logs": replica.start_hook_logs},
            }
        )

    async def stream_events(self, request: Request) -> Response:
        """GET /v1/replica/{id}/events; 503 and a wake unless active (A21)."""
        replica = self._replica(request)
        if replica.status != ACTIVE:
            self.state.wake(replica)
            raise ApiError(
                503,
                f"Workspace is {replica.status}; its engine is not running",
                "Reconnect once the workspace is active again",
            )

        hub = replica.hub
        hooks = {"running": replica.hooks_running, "completed": replica.hooks_completed}
        first = [
            hub.envelope("engine.ready", {"version": "v1"}),
            hub.envelope("hooks.status", hooks),
        ]
        return EventStreamResponse(hub, first, self.config.heartbeat_interval)

    async def not_implemented(self, request: Request) -> Response:
        """Answer 501 for contract routes the emulator leaves out."""
        route = f"{request.method} {request.url.path}"
        raise ApiError(
            501,
            "Not implemented",
            f"The Replicas emulator does not implement {route}.",
        )


def _recency(replica: Replica) -> datetime:
    return replica.last_activity_at or replica.created_at


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "Request body too large", f"The limit is {limit} bytes")


def _environment(org: OrganizationSeed, ident: str) -> EnvironmentSeed:
    if ident == "global":
        return next(e for e in org.environments.values() if e.is_global)
    if not is_uuid(ident):
        raise bad_request("id must be an environment UUID or 'global'", ident)

    env = org.environments.get(ident.lower())
    if env is None:
        raise not_found("Environment", ident)
    return env
