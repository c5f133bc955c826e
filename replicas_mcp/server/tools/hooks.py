"""The setup-hook tool: the tail of each hook's log, with paging backwards."""

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ...models import HookLog
from .. import arguments, budget
from ..failures import tool_errors
from ..state import AppState
from ..views import View, answer
from ._common import READ, ReplicaId, ToolSpec, client_of

OVERHEAD = 1_000


class HookRun(BaseModel):
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
    hook: Annotated[
        str | None, Field(description="Only hooks whose name contains this text.")
    ] = None,
    tail: Annotated[
        int, Field(ge=1, le=5_000, description="Lines to show from each log's end.")
    ] = 40,
    skip: Annotated[
        int, Field(ge=0, description="Lines to skip at the end (to page back).")
    ] = 0,
    max_tokens: budget.MaxTokens = budget.DEFAULT_TOKENS,
) -> Annotated[CallToolResult, HookLogsView]:
    """Read a replica's setup hook logs (warm and start hooks): exit codes and
    the end of each log.

    Use it when setup failed or to see what it installed.
    """
    replica_id = arguments.replica_id(replica_id)
    with tool_errors(replica_id=replica_id):
        logs = await client_of(ctx).get_hooks(replica_id)

    selected = [
        (phase, log)
        for phase, entries in (("warm", logs.warm_hooks), ("start", logs.start_hooks))
        for log in entries
        if not hook or hook.strip() in log.hook_name
    ]
    room = budget.chars(max_tokens) - OVERHEAD
    runs: list[HookRun] = []
    for index, (phase, log) in enumerate(selected):
        share = (room - sum(len(r.output) for r in runs)) // (len(selected) - index)
        runs.append(_run(phase, log, tail=tail, skip=skip, room=share))

    view = HookLogsView(replica_id=replica_id, hooks=runs)
    return answer(view, _summary(runs), next_calls=_next(runs, replica_id))


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
        return "No hook logs (yet): hooks run while the replica boots."

    lines: list[str] = []
    for run in runs:
        state = "timed out" if run.timed_out else f"exit {run.exit_code}"
        shown = f"lines {run.first_line}-{run.last_line} of {run.lines}"
        lines.append(f"{run.phase} hook {run.name}: {state}, {shown}")
        if run.upstream_cut:
            lines.append(
                f"  (the API keeps only part of this {run.full_chars}-character log)"
            )

    return "\n".join(lines)


def _next(runs: list[HookRun], replica_id: str) -> list[str]:
    """Calls that show the lines before each page, per hook."""
    return [
        f"get_hooks(replica_id={replica_id!r}, hook={run.name!r}, "
        f"skip={run.lines - run.first_line + 1})"
        for run in runs
        if run.first_line > 1
    ]


TOOLS = [ToolSpec(get_hooks, "Read hook logs", READ)]
