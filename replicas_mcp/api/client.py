"""`ReplicasClient`: one async method per Replicas API operation."""

import json
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Sequence,
)
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx2

from ..config import DEFAULT_BASE_URL, Settings
from ..errors import (
    APIConnectionError,
    APIResponseError,
    NotAppliedError,
    OutcomeUnknownError,
    ReplicasError,
    ServerError,
)
from ..models import (
    Chat,
    ChatList,
    ChatQueue,
    EngineEvent,
    Environment,
    History,
    HookLogs,
    MessageReceipt,
    Replica,
    ReplicaDetails,
    ReplicaPage,
    Repository,
    RepositorySet,
)
from ._http import HTTPTransport
from ._retry import DEFAULT_RETRIES, RetryPolicy
from .events import decode_event

logger = logging.getLogger(__name__)

_Found = TypeVar("_Found")


class ReplicasClient:
    """Async client for the Replicas REST API.

    One instance holds one connection pool; share it. Use it as an async
    context manager, or call `aclose()` when done::

        async with ReplicasClient(api_key="sk_replicas_...") as client:
            page = await client.list_replicas()
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        http_client: httpx2.AsyncClient | None = None,
        problem: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRIES,
    ) -> None:
        self._http = HTTPTransport(
            base_url=base_url.rstrip("/"),
            api_key=api_key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            http_client=http_client,
            problem=problem,
            retry=retry,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "ReplicasClient":
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return cls(
            api_key=key,
            base_url=settings.base_url,
            timeout=settings.timeout,
            connect_timeout=settings.connect_timeout,
        )

    @classmethod
    def misconfigured(cls, problem: str) -> "ReplicasClient":
        """A client whose every call fails with `problem` and sends nothing.

        Lets a server with broken settings start anyway and say what is wrong
        on each call, where the user sees it, instead of exiting silently.
        """
        return cls(api_key=None, base_url=DEFAULT_BASE_URL, problem=problem)

    @property
    def base_url(self) -> str:
        return self._http.base_url

    async def __aenter__(self) -> "ReplicasClient":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # Repositories and environments

    async def list_repositories(self) -> list[Repository]:
        body = await self._http.request("GET", "/v1/replica/repositories")
        return [Repository.model_validate(item) for item in body["repositories"]]

    async def list_repository_sets(self) -> list[RepositorySet]:
        body = await self._http.request("GET", "/v1/replica/repository-sets")
        return [RepositorySet.model_validate(item) for item in body["repository_sets"]]

    async def list_environments(self, *, scope: str = "org") -> list[Environment]:
        body = await self._http.request(
            "GET", "/v1/environments", params={"scope": scope}
        )
        return [Environment.model_validate(item) for item in body["environments"]]

    # Replicas

    async def create_replica(
        self,
        *,
        name: str,
        message: str,
        repository_ids: Sequence[str] | None = None,
        repository_set_id: str | None = None,
        environment_id: str | None = None,
        coding_agent: str | None = None,
        model: str | None = None,
        lifecycle_policy: str | None = None,
        plan_mode: bool | None = None,
        images: Sequence[dict[str, Any]] | None = None,
    ) -> Replica:
        """Create a replica and hand its first message to the agent.

        The call returns at once with the replica `preparing`; the message runs
        when it has booted.
        """
        payload = _compact(
            name=name,
            message=message,
            repository_ids=list(repository_ids) if repository_ids else None,
            repository_set_id=repository_set_id,
            environment_id=environment_id,
            coding_agent=coding_agent,
            model=model,
            lifecycle_policy=lifecycle_policy,
            plan_mode=plan_mode,
            images=list(images) if images else None,
        )
        started = datetime.now(UTC)
        try:
            body = await self._http.request("POST", "/v1/replica", json=payload)
        except (APIConnectionError, APIResponseError, ServerError) as exc:
            # The API may have created it before the reply was lost: look for
            # it instead of creating a second, billed one.
            found = await self._recover(
                exc,
                lambda: self._find_created(name, started),
                not_done=f"replica {name!r} was not created",
            )
            return Recovered.model_validate(found.model_dump())

        return Replica.model_validate(body["replica"])

    async def list_replicas(
        self,
        *,
        page: int = 1,
        limit: int = 10,
        status: str | None = None,
        source: str | None = None,
    ) -> ReplicaPage:
        params = {"page": page, "limit": limit, "status": status, "source": source}
        body = await self._http.request("GET", "/v1/replica", params=params)
        return ReplicaPage.model_validate(body)

    async def get_replica(
        self, replica_id: str, *, include: Collection[str] = ()
    ) -> ReplicaDetails:
        params = {"include": ",".join(include) or None}
        body = await self._http.request("GET", _replica_path(replica_id), params=params)
        return ReplicaDetails.model_validate(body["replica"])

    async def delete_replica(self, replica_id: str) -> None:
        await self._http.request("DELETE", _replica_path(replica_id))

    # Messages and chats

    async def send_message(
        self,
        replica_id: str,
        *,
        message: str,
        chat_id: str | None = None,
        coding_agent: str | None = None,
        model: str | None = None,
        plan_mode: bool | None = None,
        images: Sequence[dict[str, Any]] | None = None,
    ) -> MessageReceipt:
        payload = _compact(
            message=message,
            chat_id=chat_id,
            coding_agent=coding_agent,
            model=model,
            plan_mode=plan_mode,
            images=list(images) if images else None,
        )
        started = datetime.now(UTC)
        try:
            body = await self._http.request(
                "POST", _replica_path(replica_id, "messages"), json=payload
            )
        except (APIConnectionError, APIResponseError, ServerError) as exc:
            status = await self._recover(
                exc,
                lambda: self._find_sent(replica_id, chat_id, message, started),
                not_done="the message was not sent: it is in neither the chat's "
                "history nor its queue",
            )
            return RecoveredReceipt(status=status, chat_id=chat_id)

        return MessageReceipt.model_validate(body)

    async def list_chats(self, replica_id: str) -> ChatList:
        body = await self._http.request("GET", _replica_path(replica_id, "chats"))
        return ChatList.model_validate(body)

    async def create_chat(
        self, replica_id: str, *, provider: str, title: str | None = None
    ) -> Chat:
        payload = _compact(provider=provider, title=title)
        body = await self._http.request(
            "POST", _replica_path(replica_id, "chats"), json=payload
        )
        return Chat.model_validate(body)

    async def get_queue(self, replica_id: str, chat_id: str) -> ChatQueue:
        """Messages waiting in a chat for the agent to finish its turn."""
        path = _replica_path(replica_id, "chats", chat_id, "queue")
        return ChatQueue.model_validate(await self._http.request("GET", path))

    async def delete_chat(self, replica_id: str, chat_id: str) -> None:
        await self._http.request("DELETE", _replica_path(replica_id, "chats", chat_id))

    # What the agent did

    async def get_history(
        self,
        replica_id: str,
        *,
        chat_id: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> History:
        """Read the conversation, newest events last; `offset` skips the newest."""
        params = {"chat_id": chat_id, "limit": limit, "offset": offset}
        body = await self._http.request(
            "GET", _replica_path(replica_id, "history"), params=params
        )
        return History.model_validate(body)

    async def get_hooks(self, replica_id: str) -> HookLogs:
        body = await self._http.request("GET", _replica_path(replica_id, "hooks"))
        return HookLogs.model_validate(body)

    @asynccontextmanager
    async def stream_events(
        self, replica_id: str
    ) -> AsyncGenerator[AsyncIterator[EngineEvent]]:
        """Open the replica's live event stream.

        Yields an async iterator of events; heartbeats and anything that is not
        a well-formed event are skipped. The stream ends when the server closes
        it; reconnecting is the caller's choice.
        """
        path = _replica_path(replica_id, "events")
        async with self._http.stream_events(path) as source:
            yield _decoded(source)

    # Reconciling writes whose reply was lost

    async def _recover(
        self,
        exc: APIConnectionError | APIResponseError | ServerError,
        look: Callable[[], Awaitable[_Found | None]],
        *,
        not_done: str,
    ) -> _Found:
        """Find what a failed write did upstream, and say so either way.

        Found: the write happened once; return what it made. Every look came
        back empty: it did not happen (`NotAppliedError`, safe to repeat). The
        looks themselves failed: nobody can tell (`OutcomeUnknownError`).
        """
        if isinstance(exc, APIConnectionError) and not exc.sent:
            raise exc

        looked = False
        for delay in RECONCILE_DELAYS:
            # The write may still be under way upstream; look a few times.
            await anyio.sleep(delay)
            try:
                found = await look()
            except ReplicasError:
                continue
            looked = True
            if found is not None:
                logger.warning("found what a failed write did: %s", exc)
                return found

        if looked:
            msg = f"{not_done} ({exc}); it is safe to try again"
            raise NotAppliedError(msg) from exc

        msg = (
            f"the reply was lost ({exc}) and checking what happened failed too; "
            "it was not retried, so it happened at most once"
        )
        raise OutcomeUnknownError(msg) from exc

    async def _chat_ids(self, replica_id: str) -> list[str]:
        """Chat ids to search; a replica without live chats cannot be checked."""
        listed = await self.list_chats(replica_id)
        if listed.waking or not listed.chats:
            # Asleep or still booting: a parked message would not show up.
            msg = "the replica's chats cannot be read while it is not running"
            raise OutcomeUnknownError(msg)

        return [chat.id for chat in listed.chats]

    async def _find_created(self, name: str, since: datetime) -> Replica | None:
        """A replica of this name created around `since`, newest first."""
        horizon = since - CLOCK_SKEW
        for page_number in range(1, 6):
            page = await self.list_replicas(page=page_number, limit=100)
            for replica in page.replicas:
                if replica.name == name and replica.created_at >= horizon:
                    return replica
            older = [r for r in page.replicas if r.created_at < horizon]
            if older or page_number >= page.total_pages:
                return None

        return None

    async def _find_sent(
        self, replica_id: str, chat_id: str | None, message: str, since: datetime
    ) -> str | None:
        """Where the message went: "sent" (in the history), "queued", or None."""
        text = _without_prefixes(message)
        escaped = json.dumps(text)[1:-1]
        history = await self.get_history(replica_id, chat_id=chat_id, limit=100)
        for event in reversed(history.events):
            if event.timestamp < since - CLOCK_SKEW:
                break
            if escaped in json.dumps(event.payload):
                return "sent"

        chats = [chat_id] if chat_id else await self._chat_ids(replica_id)
        for chat in chats:
            queue = await self.get_queue(replica_id, chat)
            if any(waiting.message == text for waiting in queue.queue):
                return "queued"

        return None


class Recovered(Replica):
    """A replica found after the API's reply to its creation was lost."""


class RecoveredReceipt(MessageReceipt):
    """A message found in the history after the API's reply to it was lost."""


# How long to wait before each look for a write's effect, in seconds.
RECONCILE_DELAYS = (0.2, 0.8, 2.0)
# Timestamps come from the service's clock; allow for it to differ from ours.
CLOCK_SKEW = timedelta(minutes=2)


def _without_prefixes(message: str) -> str:
    """The text as the agent gets it: the API strips a leading /plan, /goal, /fast."""
    text = message.lstrip()
    while text.startswith(("/plan", "/goal", "/fast")):
        text = text[5:].lstrip()

    return text


async def _decoded(source: httpx2.EventSource) -> AsyncIterator[EngineEvent]:
    async for sse in source:
        event = decode_event(sse.data)
        if event is not None:
            yield event


def _replica_path(replica_id: str, *rest: str) -> str:
    # Ids come from models and users alike; quoting keeps "../x" from
    # escaping the replica's path.
    segments = [quote(part, safe="") for part in (replica_id, *rest)]
    return "/v1/replica/" + "/".join(segments)


def _compact(**fields: Any) -> dict[str, Any]:
    """Drop unset fields, so the API applies its own defaults."""
    return {key: value for key, value in fields.items() if value is not None}
