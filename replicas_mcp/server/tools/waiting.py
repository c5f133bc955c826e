"""Bounded waits on replicas, answered the moment their event streams say so."""

import time
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ...api import ReplicasClient
from ...errors import NotFoundError
from .. import arguments
from ..failures import tool_errors
from ..live import DORMANT, LiveReplica, Watcher
from ..state import AppState
from ..status import observe
from ..transcript import entry
from ..views import Part, View, answer
from ._common import READ, IdList, ToolSpec, client_of, watchers_of

Until = Literal["turn_completed", "idle", "needs_input", "active", "any_change"]

MAX_REPLICAS = 10
# Below the server's 50 s limit on any call, leaving room for the digest.
MAX_TIMEOUT = 45
# Hosts give up on a silent call after about a minute; progress keeps it alive.
PROGRESS_EVERY = 4.0
# ...and news of what the agent is doing goes out as it happens, this spaced.
PROGRESS_MIN_GAP = 0.5
MESSAGE_CHARS = 1_500


class Digest(Part):
    replica_id: str
    state: str
    detail: str
    done: bool
    last_message: str | None = None
    question: str | None = None
    changes: list[str] = []
    pull_requests: list[str] = []
    next_call: str | None = None


class WaitView(View):
    until: str
    timed_out: bool
    waited_seconds: float
    replicas: list[Digest]


@dataclass(frozen=True)
class _Start:
    version: int
    turns: int
    idle: bool


async def wait_for_replicas(
    ctx: Context[AppState],
    replica_ids: Annotated[IdList, Field(description="Up to 10 replica ids.")],
    until: Until = "turn_completed",
    timeout: Annotated[float, Field(ge=1, le=MAX_TIMEOUT)] = 40,
    all_of: Annotated[bool, Field(description="Wait for all, not the first.")] = False,
) -> Annotated[CallToolResult, WaitView]:
    """Wait (at most 45 s) until replicas finish a turn, go idle, need input or
    change; returns each one's state, last message, changes and PRs.
    """
    ids = _checked_ids(replica_ids)
    client, watching = client_of(ctx), watchers_of(ctx).watching
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        watchers = {rid: await stack.enter_async_context(watching(rid)) for rid in ids}
        with anyio.move_on_after(timeout):
            await _until_synced(watchers.values())
        unknown = [rid for rid, w in watchers.items() if w.live.gone]
        if unknown:
            msg = (
                f"replica {', '.join(unknown)} not found; list_replicas shows the "
                "ones you can use"
            )
            raise ToolError(msg)
        starts = {rid: _start(w.live) for rid, w in watchers.items()}

        def met() -> set[str]:
            return {
                rid
                for rid, w in watchers.items()
                if _reached(until, w.live, starts[rid])
            }

        done = await _wait(
            ctx, watchers, met, all_of=all_of, started=started, timeout=timeout
        )

    waited = round(time.monotonic() - started, 1)
    digests = await _digests(client, watchers, done)
    timed_out = not done or (all_of and len(done) < len(ids))
    view = WaitView(
        until=until, timed_out=timed_out, waited_seconds=waited, replicas=digests
    )
    return answer(view, _summary(view), next_calls=_next(view, until))


def _checked_ids(values: list[str] | None) -> list[str]:
    checked = (
        arguments.replica_id(value, field=f"replica_ids[{i}]")
        for i, value in enumerate(values or [])
    )
    ids = list(dict.fromkeys(checked))
    if not ids:
        raise ToolError("replica_ids is empty; give the replicas to wait for")

    if len(ids) > MAX_REPLICAS:
        msg = f"{len(ids)} replicas given; wait for at most {MAX_REPLICAS} at once"
        raise ToolError(msg)

    return ids


async def _until_synced(watchers: Iterable[Watcher]) -> None:
    for watcher in watchers:
        await watcher.synced()


def _start(live: LiveReplica) -> _Start:
    idle = live.status == "active" and not live.busy and not live.needs_input
    return _Start(version=live.version, turns=live.turns_completed, idle=idle)


def _reached(until: str, live: LiveReplica, start: _Start) -> bool:
    """Whether `until` holds; states nothing more can come of always do."""
    stuck = live.gone or live.setup_failed or live.status in (*DORMANT, "error")
    if stuck:
        return True

    if until == "active":
        return live.status == "active"

    if until == "any_change":
        return live.version > start.version

    finished = live.turns_completed > start.turns and not live.busy
    idle = live.status == "active" and not live.busy
    if until == "needs_input":
        return live.needs_input or finished

    if until == "idle":
        return idle or live.needs_input

    return live.needs_input or finished or (start.idle and idle)


async def _wait(
    ctx: Context[AppState],
    watchers: dict[str, Watcher],
    met: Callable[[], set[str]],
    *,
    all_of: bool,
    started: float,
    timeout: float,
) -> set[str]:
    """Sleep on change notifications until `met` is satisfied or time is up."""
    deadline = started + timeout
    changed = anyio.Event()

    def wake(_: frozenset[str]) -> None:
        changed.set()

    for watcher in watchers.values():
        watcher.listeners.add(wake)
    try:
        last_report, last_said = 0.0, ""
        while True:
            done = met()
            if done and (not all_of or len(done) == len(watchers)):
                return done

            now = time.monotonic()
            if now >= deadline:
                return done

            said = _doing(watchers, done)
            news = said != last_said and now - last_report >= PROGRESS_MIN_GAP
            if news or now - last_report >= PROGRESS_EVERY:
                await ctx.report_progress(round(now - started, 1), timeout, said)
                last_report, last_said = now, said

            with anyio.move_on_after(min(PROGRESS_EVERY, deadline - now)):
                await changed.wait()
            changed = anyio.Event()
    finally:
        for watcher in watchers.values():
            watcher.listeners.discard(wake)


def _doing(watchers: dict[str, Watcher], done: set[str]) -> str:
    """What the replicas still waited on are doing, for progress messages."""
    doing = [
        f"{rid[:8]}: {w.live.activity or w.live.status or 'starting'}"
        for rid, w in watchers.items()
        if rid not in done
    ]
    return "; ".join(doing[:3]) or "waiting"


async def _digests(
    client: ReplicasClient, watchers: dict[str, Watcher], done: set[str]
) -> list[Digest]:
    results: dict[str, Digest] = {}

    async def one(rid: str) -> None:
        results[rid] = await _digest(client, rid, watchers[rid].live, rid in done)

    async with anyio.create_task_group() as group:
        for rid in watchers:
            group.start_soon(one, rid)

    return [results[rid] for rid in watchers]


async def _digest(
    client: ReplicasClient, replica_id: str, live: LiveReplica, done: bool
) -> Digest:
    """State, last message, changes and PRs of one replica, read fresh."""
    if live.gone:
        return Digest(replica_id=replica_id, state="deleted", detail="gone", done=True)

    if live.status in DORMANT:
        # Reading it now would wake it up again.
        detail = f"{live.status}; a message wakes it"
        return Digest(replica_id=replica_id, state="sleeping", detail=detail, done=True)

    with tool_errors(replica_id=replica_id):
        try:
            details, state, _ = await observe(client, replica_id, live=live)
            history = await client.get_history(replica_id, limit=20)
        except NotFoundError:
            return Digest(
                replica_id=replica_id, state="deleted", detail="gone", done=True
            )

    last_message = None
    question = live.question if state.name == "needs_input" else None
    for event in reversed(history.events):
        item = entry(event)
        if item.role != "assistant":
            continue
        if (
            question is None
            and state.name == "needs_input"
            and item.kind == "tool_call"
        ):
            question = item.text
        if item.kind == "text":
            last_message = item.text
            break

    return Digest(
        replica_id=replica_id,
        state=state.name,
        detail=state.detail,
        done=done,
        last_message=_trimmed(last_message),
        question=_trimmed(question),
        changes=[
            f"{s.repository} +{s.git_diff.added} -{s.git_diff.removed}"
            for s in details.repository_statuses or []
            if s.git_diff is not None and (s.git_diff.added or s.git_diff.removed)
        ],
        pull_requests=[pr.url for pr in details.pull_requests],
        next_call=state.next_call,
    )


def _trimmed(text: str | None) -> str | None:
    if text is None or len(text) <= MESSAGE_CHARS:
        return text

    return text[:MESSAGE_CHARS] + f" [... {len(text) - MESSAGE_CHARS} more chars]"


def _summary(view: WaitView) -> str:
    head = (
        f"Still waiting after {view.waited_seconds:g} s."
        if view.timed_out
        else f"Done waiting ({view.until}) after {view.waited_seconds:g} s."
    )
    lines = [head]
    for digest in view.replicas:
        line = f"{digest.replica_id}: {digest.state} ({digest.detail})"
        if digest.changes:
            line += f"; changed {', '.join(digest.changes)}"
        lines.append(line)
        if digest.question:
            lines.append(f"  asks: {digest.question[:300]}")
        elif digest.last_message and digest.done:
            lines.append(f"  says: {digest.last_message[:300]}")

    return "\n".join(lines)


def _next(view: WaitView, until: str) -> list[str]:
    pending = [d.replica_id for d in view.replicas if not d.done]
    calls = [d.next_call for d in view.replicas if d.done and d.next_call]
    if pending:
        calls.insert(0, f"wait_for_replicas(replica_ids={pending!r}, until={until!r})")

    return calls[:3]


TOOLS = [ToolSpec(wait_for_replicas, "Wait for replicas", READ)]
