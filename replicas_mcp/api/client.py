"""`ReplicasClient`: one async method per Replicas API operation."""

from collections.abc import AsyncGenerator, AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx2

from ..config import DEFAULT_BASE_URL, Settings
from ..models import (
    Chat,
    ChatList,
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
from .events import decode_event


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
    ) -> None:
        self._http = HTTPTransport(
            base_url=base_url.rstrip("/"),
            api_key=api_key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            http_client=http_client,
            problem=problem,
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
        body = await self._http.request("POST", "/v1/replica", json=payload)
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
        body = await self._http.request(
            "POST", _replica_path(replica_id, "messages"), json=payload
        )
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
