"""The setup-hook tool: the tail of each hook's log, with paging backwards."""

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ...models import HookLog
from .. import arguments, budget
from ..failures import tool_errors
from ..state import AppState
from ..views import Part, View, answer, call
from ._common import READ, ReplicaId, ToolSpec, client_of

OVERHEAD = 2_000
# A failed hook's last lines go into the summary too: that is where it says why.
FAILURE_LINES = 5


class HookRun(Part):
    phase: str
    name: str
    exit_code: int
    timed_out: bool
    executed_at: str
    lines: int
    first_line: int
    last_line: int
    output: str
    full_chars: int | None = None
    upstream_cut: bool = False


class HookLogsView(View):
    replica_id: str
    hooks: list[HookRun]


async def get_hooks(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    hook: Annotated[str | None, Field(description="A hook's name, or part.")] = None,
    tail: Annotated[int, Field(ge=1, le=5_000, description="Last lines per log.")] = 40,
    skip: Annotated[int, Field(ge=0, description="Lines to skip from the end.")] = 0,
    max_tokens: budget.MaxTokens = budget.DEFAULT_TOKENS,
) -> Annotated[CallToolResult, HookLogsView]:
    """Read a replica's setup hook logs: exit codes and the end of each log."""
    replica_id = arguments.replica_id(replica_id)
    with tool_errors(replica_id=replica_id):
        logs = await client_of(ctx).get_hooks(replica_id)

    every = [
        (name, log)
        for name, entries in (("warm", logs.warm_hooks), ("start", logs.start_hooks))
        for log in entries
    ]
    selected = _named(every, arguments.optional_text(hook))
    if every and not selected:
        names = ", ".join(sorted({log.hook_name for _, log in every}))
        return answer(
            HookLogsView(replica_id=replica_id, hooks=[]),
            f"No hook matches hook={hook!r}; the hooks are: {names}.",
        )

    room = budget.chars(max_tokens) - OVERHEAD
    shares = _shares([_wanted(log, tail, skip) for _, log in selected], room)
    runs = [
        _run(name, log, tail=tail, skip=skip, room=share)
        for (name, log), share in zip(selected, shares, strict=True)
    ]
    view = HookLogsView(replica_id=replica_id, hooks=runs)
    more = [
        call(
            "get_hooks",
            replica_id=replica_id,
            hook=run.name,
            tail=tail if tail != 40 else None,
            skip=run.lines - run.first_line + 1,
            max_tokens=max_tokens if max_tokens != budget.DEFAULT_TOKENS else None,
        )
        for run in runs
        if run.first_line > 1
    ]
    return answer(view, _summary(runs), next_calls=more)


def _named(
    runs: list[tuple[str, HookLog]], hook: str | None
) -> list[tuple[str, HookLog]]:
    """Runs of the hook named exactly so, else of hooks whose name contains it."""
    if hook is None:
        return runs

    exact = [(name, log) for name, log in runs if log.hook_name == hook]
    return exact or [(name, log) for name, log in runs if hook in log.hook_name]


def _wanted(log: HookLog, tail: int, skip: int) -> int:
    """Characters the requested lines of a log take, before any budget."""
    lines = log.output.splitlines()
    start, end = budget.tail_lines(lines, tail, skip)
    return budget.encoded_len("\n".join(lines[start:end]))


def _shares(wanted: list[int], room: int) -> list[int]:
    """Split `room` so small logs get all they need and big ones the rest evenly."""
    shares = [0] * len(wanted)
    left, open_ = room, sorted(range(len(wanted)), key=wanted.__getitem__)
    while open_:
        even = left // len(open_)
        index = open_.pop(0)
        shares[index] = min(wanted[index], even)
        left -= shares[index]

    return shares


def _run(phase: str, log: HookLog, *, tail: int, skip: int, room: int) -> HookRun:
    lines = log.output.splitlines()
    start, end = budget.tail_lines(lines, tail, skip)
    shown = lines[start:end]
    # Over budget, keep the last lines: the end of a log is where failures are.
    while len(shown) > 1 and budget.encoded_len("\n".join(shown)) > room:
        drop = max(1, len(shown) // 10)
        shown = shown[drop:]
        start += drop
    if shown and budget.encoded_len(shown[0]) > room:
        # One line longer than the whole budget: show its end, still counted
        # as a line so that paging back moves on.
        shown = [shown[0][-max(room // 2, 0) :]]

    return HookRun(
        phase=phase,
        name=log.hook_name,
        exit_code=log.exit_code,
        timed_out=log.timed_out,
        executed_at=log.executed_at.isoformat().replace("+00:00", "Z"),
        lines=len(lines),
        first_line=start + 1,
        last_line=end,
        output="\n".join(shown),
        full_chars=log.output_total_chars if log.output_truncated else None,
        upstream_cut=log.output_truncated,
    )


def _summary(runs: list[HookRun]) -> str:
    if not runs:
        return "No hook logs yet: hooks run while the replica boots."

    lines: list[str] = []
    for run in runs:
        state = "timed out" if run.timed_out else f"exit {run.exit_code}"
        if run.last_line < run.first_line:
            shown = f"nothing before the last {run.lines} lines"
        else:
            shown = f"lines {run.first_line}-{run.last_line} of {run.lines}"
        if run.upstream_cut:
            shown += f" kept by the API of a {run.full_chars}-character log"
        lines.append(f"{run.phase} hook {run.name}: {state}, {shown}")
        if run.exit_code != 0 or run.timed_out:
            ending = run.output.splitlines()[-FAILURE_LINES:]
            lines += [f"  | {line[:200]}" for line in ending]

    return "\n".join(lines)


TOOLS = [ToolSpec(get_hooks, "Read hook logs", READ)]
