"""One clear state per replica, and the call that makes sense next."""

from collections.abc import Collection
from dataclasses import dataclass

from ..api import ReplicasClient
from ..models import ReplicaDetails
from .environment import setup_failed
from .live import LiveReplica
from .transcript import Entry, entry

# Tools a Claude agent uses to stop and ask the user something.
# (Codex shows a plan waiting for approval as an update_plan call without output.)
QUESTION_TOOLS = ("ExitPlanMode", "AskUserQuestion", "update_plan")


@dataclass(frozen=True)
class State:
    name: str
    detail: str
    next_call: str


def replica_state(
    details: ReplicaDetails,
    *,
    newest: Entry | None = None,
    live: LiveReplica | None = None,
) -> State:
    """Combine REST details, the newest history entry and live events into a state.

    States: booting, setting_up, setup_failed, working, needs_input, idle,
    waking, sleeping, error.
    """
    target = f"replica_id={details.id!r}"
    chats = details.chats or []
    repos = details.repository_statuses or []
    waiting = live is not None and live.needs_input
    asking = newest is not None and newest.kind == "tool_call"
    waiting = waiting or (
        asking and newest is not None and newest.tool in QUESTION_TOOLS
    )

    if details.status == "error":
        return State("error", "setup or wake failed", f"delete_replica({target})")

    if details.waking:
        return State("waking", "waking up, back in 30-90 s", _wait(target, "active"))

    if details.status in ("sleeping", "archived"):
        return State(
            "sleeping",
            f"{details.status}; a message wakes it",
            f"send_message({target}, ...)",
        )

    if details.status == "preparing":
        return State("booting", "the workspace is starting", _wait(target, "active"))

    if setup_failed(details.environment) or (live is not None and live.setup_failed):
        return State("setup_failed", "a setup hook failed", f"get_hooks({target})")

    if waiting:
        return State(
            "needs_input",
            "the agent waits for your answer, e.g. to approve its plan",
            f"send_message({target}, message='Approved, go ahead')",
        )

    if any(chat.processing for chat in chats):
        doing = _doing(newest, live)
        return State("working", doing, _wait(target, "turn_completed"))

    if any(not repo.start_hooks_completed for repo in repos):
        return State("setting_up", "setup hooks are running", _wait(target, "idle"))

    return State("idle", "the agent is done", f"get_history({target})")


def _doing(newest: Entry | None, live: LiveReplica | None) -> str:
    if live is not None and live.activity:
        return f"the agent is {live.activity}"

    if newest is None:
        return "the agent is working"

    if newest.kind == "tool_call":
        target = f": {newest.target}" if newest.target else ""
        return f"the agent is running {newest.tool}{target}"

    if newest.kind == "thinking":
        return "the agent is thinking"

    return "the agent is working"


def _wait(target: str, until: str) -> str:
    return f"wait_for_replicas(replica_ids=[{target.split('=')[1]}], until={until!r})"


async def observe(
    client: ReplicasClient,
    replica_id: str,
    *,
    include: Collection[str] = (),
    live: LiveReplica | None = None,
) -> tuple[ReplicaDetails, State, Entry | None]:
    """Read a replica and work out its state; also return its newest entry.

    The environment report (for failed setup hooks) is always read; the
    newest history event only while an agent works, to say what it is doing.
    """
    details = await client.get_replica(replica_id, include={"environment", *include})
    newest = None
    if any(chat.processing for chat in details.chats or []):
        history = await client.get_history(replica_id, limit=1)
        newest = entry(history.events[-1]) if history.events else None

    return details, replica_state(details, newest=newest, live=live), newest
