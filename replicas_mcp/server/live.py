"""Live views of replicas, kept current from their event streams.

One `Watcher` follows one replica's stream, however many waits and resource
subscriptions need it; `Watchers` counts its users and closes the stream when
the last one leaves. The view is re-read over REST whenever a connection
(re)opens, so nothing that happened while no stream was open is missed.
"""

import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import anyio
from anyio.abc import TaskGroup

from ..api import ReplicasClient
from ..api.stream import StreamGap, follow
from ..errors import NotFoundError, ReplicasError
from ..models import EngineEvent, HistoryEvent, ReplicaDetails
from .environment import setup_failed
from .transcript import Entry, entry

logger = logging.getLogger(__name__)

DORMANT = ("sleeping", "archived")
# While a replica sleeps nothing streams; its status is checked this often.
DORMANT_POLL = 10.0

Listener = Callable[[frozenset[str]], None]


@dataclass
class LiveChat:
    id: str
    processing: bool = False
    awaiting_input: bool = False


@dataclass
class LiveReplica:
    """What is known about a replica right now."""

    replica_id: str
    status: str | None = None
    gone: bool = False
    chats: dict[str, LiveChat] = field(default_factory=dict[str, LiveChat])
    setup_failed: bool = False
    activity: str | None = None
    question: str | None = None
    turns_completed: int = 0
    version: int = 0

    @property
    def busy(self) -> bool:
        """An agent is working and not waiting on anyone."""
        return any(c.processing and not c.awaiting_input for c in self.chats.values())

    @property
    def needs_input(self) -> bool:
        return any(chat.awaiting_input for chat in self.chats.values())


class Watcher:
    """Follows one replica's stream and keeps its `LiveReplica` current."""

    def __init__(self, client: ReplicasClient, replica_id: str) -> None:
        self.live = LiveReplica(replica_id)
        self.listeners: set[Listener] = set()
        self._client = client
        self._synced = anyio.Event()
        self._last_text: str | None = None

    async def synced(self) -> None:
        """Return once the view has been read at least once."""
        await self._synced.wait()

    async def run(self) -> None:
        try:
            await self._follow()
        except NotFoundError:
            self.live.gone = True
            self._mark({"status"})
        except ReplicasError as exc:
            logger.warning("stopped following %s: %s", self.live.replica_id, exc)
        finally:
            # Waiters must not hang on a watcher that stopped for good.
            self._synced.set()

    async def _follow(self) -> None:
        async for item in follow(self._client, self.live.replica_id):
            if isinstance(item, StreamGap):
                await self._after_gap()
            elif item.type == "engine.ready":
                # Each connection opens with engine.ready: read the state now,
                # after the stream is open, so no later change is missed.
                await self._resync()
            else:
                self._apply(item)

    async def _after_gap(self) -> None:
        """Decide what to do while no stream flows, without waking the replica."""
        status = await status_without_waking(self._client, self.live.replica_id)
        if status is None:
            raise NotFoundError(
                status_code=404,
                error="Replica not found",
                details=None,
                method="GET",
                path="/v1/replica",
            )

        if status in DORMANT or status == "error":
            self._set_status(status)
            self._synced.set()
            # Reopening the stream would wake it; wait until something else does.
            while status in DORMANT or status == "error":
                await anyio.sleep(DORMANT_POLL)
                status = await status_without_waking(self._client, self.live.replica_id)
            return

        if status != "active":
            self._set_status(status)
            self._synced.set()
            return

        await self._resync()

    async def _resync(self) -> None:
        details = await self._client.get_replica(
            self.live.replica_id, include=("environment",)
        )
        self._absorb(details)
        self._synced.set()

    def _absorb(self, details: ReplicaDetails) -> None:
        """Take REST state as the truth; count turns that ended unseen."""
        live = self.live
        was_busy = {cid for cid, chat in live.chats.items() if chat.processing}
        chats = {chat.id: chat for chat in details.chats or []}
        for chat_id in was_busy:
            if chat_id in chats and not chats[chat_id].processing:
                live.turns_completed += 1

        previous = dict(live.chats)
        live.chats = {
            cid: LiveChat(
                cid,
                processing=chat.processing,
                awaiting_input=chat.processing
                and previous.get(cid, LiveChat(cid)).awaiting_input,
            )
            for cid, chat in chats.items()
        }
        live.status = details.status
        live.setup_failed = setup_failed(details.environment)
        self._mark({"status", "diffs"})

    def _apply(self, event: EngineEvent) -> None:
        payload = event.payload
        kind = event.type
        if kind in ("chat.created", "chat.updated"):
            self._update_chat(_dict(payload.get("chat")))
        elif kind == "chat.deleted":
            self.live.chats.pop(str(payload.get("chatId")), None)
            self._mark({"status"})
        elif kind == "chat.turn.started":
            self._chat(payload).processing = True
            self.live.activity = "starting"
            self._mark({"status"})
        elif kind == "chat.turn.delta":
            self._delta(_dict(payload.get("event")))
        elif kind == "chat.turn.completed":
            self.live.turns_completed += 1
            self._chat(payload).processing = False
            self.live.activity = None
            self._mark({"status"})
        elif kind in ("repo.status.changed", "repo.discovered"):
            self._mark({"status", "diffs"})
        elif kind == "hooks.failed":
            self.live.setup_failed = True
            self._mark({"status"})
        elif kind.startswith("hooks."):
            self._mark({"status"})

    def _update_chat(self, summary: dict[str, Any]) -> None:
        chat_id = str(summary.get("id", ""))
        chat = self.live.chats.setdefault(chat_id, LiveChat(chat_id))
        chat.processing = bool(summary.get("processing"))
        awaiting = bool(summary.get("awaitingInput"))
        if awaiting and not chat.awaiting_input:
            self.live.question = self._last_text
        chat.awaiting_input = awaiting
        self._mark({"status"})

    def _delta(self, raw: dict[str, Any]) -> None:
        try:
            item = entry(HistoryEvent.model_validate(raw))
        except ValueError:
            return

        if item.kind == "tool_call":
            self.live.activity = _running(item)
        elif item.kind == "thinking":
            self.live.activity = "thinking"
        elif item.kind == "text" and item.role == "assistant":
            self.live.activity = "writing its reply"
        if item.role == "assistant" and item.kind in ("text", "tool_call"):
            self._last_text = item.text

        self._mark({"activity"})

    def _chat(self, payload: dict[str, Any]) -> LiveChat:
        chat_id = str(payload.get("chatId", ""))
        return self.live.chats.setdefault(chat_id, LiveChat(chat_id))

    def _set_status(self, status: str) -> None:
        if status != self.live.status:
            self.live.status = status
            self._mark({"status"})

    def _mark(self, kinds: set[str]) -> None:
        self.live.version += 1
        for listener in list(self.listeners):
            listener(frozenset(kinds))


class Watchers:
    """The open watchers, one per replica, closed when nobody needs them."""

    def __init__(self, client: ReplicasClient, task_group: TaskGroup) -> None:
        self._client = client
        self._task_group = task_group
        self._open: dict[str, tuple[Watcher, anyio.CancelScope, int]] = {}

    @property
    def open_count(self) -> int:
        return len(self._open)

    def spawn(self, function: Callable[[], Coroutine[Any, Any, object]]) -> None:
        """Run `function` in the background, e.g. to notify a subscriber."""
        self._task_group.start_soon(function)

    def get(self, replica_id: str) -> Watcher | None:
        entry_ = self._open.get(replica_id)
        return entry_[0] if entry_ else None

    def acquire(self, replica_id: str) -> Watcher:
        """Start (or share) the watcher of a replica; pair with `release`."""
        if replica_id in self._open:
            watcher, scope, users = self._open[replica_id]
            self._open[replica_id] = (watcher, scope, users + 1)
            return watcher

        watcher = Watcher(self._client, replica_id)
        scope = anyio.CancelScope()
        self._open[replica_id] = (watcher, scope, 1)
        self._task_group.start_soon(_run_in, scope, watcher)
        return watcher

    def release(self, replica_id: str) -> None:
        watcher, scope, users = self._open[replica_id]
        if users > 1:
            self._open[replica_id] = (watcher, scope, users - 1)
            return

        del self._open[replica_id]
        scope.cancel()

    @asynccontextmanager
    async def watching(self, replica_id: str) -> AsyncGenerator[Watcher]:
        watcher = self.acquire(replica_id)
        try:
            yield watcher
        finally:
            self.release(replica_id)


async def _run_in(scope: anyio.CancelScope, watcher: Watcher) -> None:
    with scope:
        await watcher.run()


async def status_without_waking(client: ReplicasClient, replica_id: str) -> str | None:
    """A replica's status from the list, which (unlike a read) wakes nothing."""
    page_number, pages = 1, 1
    while page_number <= min(pages, 10):
        page = await client.list_replicas(page=page_number, limit=100)
        for replica in page.replicas:
            if replica.id == replica_id:
                return replica.status
        pages = page.total_pages
        page_number += 1

    return None


def _running(item: Entry) -> str:
    return f"running {item.tool}" + (f": {item.target}" if item.target else "")


def _dict(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}
