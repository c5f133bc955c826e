"""Warm and start hook log entries (§5.14), with output the seeded repos produce.

Outputs longer than `PREVIEW_CHARS` are cut to a preview of their tail, the way
a CI log view opens at the end: the last lines say whether and why it failed.
"""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from .clock import format_timestamp
from .records import Worktree
from .seed import (
    ENVIRONMENT_START_COMMANDS,
    GLOBAL_WARM_HOOK_OUTPUT,
    GLOBAL_WARM_HOOK_SCRIPT,
    RepositorySeed,
)

Json = dict[str, Any]

PREVIEW_CHARS = 100_000
"""The longest `output` the API returns; longer logs are cut (§5.14)."""

# The warm pool prepared the sandbox before the workspace was handed out.
_WARMED_BEFORE_CREATE = timedelta(minutes=7)


def output_preview(output: str) -> str:
    """Return what the API shows of a hook's output: all of it, or its tail.

    A cut preview is at most `PREVIEW_CHARS` long and starts at a line start,
    unless the last line alone is longer than that.
    """
    if len(output) <= PREVIEW_CHARS:
        return output

    tail = output[-PREVIEW_CHARS:]
    if output[-PREVIEW_CHARS - 1] == "\n":
        return tail

    # Drop the partial first line, but never the only (final) line.
    first_break = tail.find("\n")
    if first_break in (-1, len(tail) - 1):
        return tail
    return tail[first_break + 1 :]


def _output_fields(output: str, exit_code: int, executed_at: datetime) -> Json:
    preview = output_preview(output)
    return {
        "output": preview,
        "outputTruncated": len(preview) < len(output),
        "outputTotalChars": len(output),
        "exitCode": exit_code,
        "timedOut": False,
        "executedAt": format_timestamp(executed_at),
    }


def warm_hook_logs(worktrees: list[Worktree], created_at: datetime) -> list[Json]:
    """Return the warm hook logs of a workspace created at `created_at`."""
    executed_at = created_at - _WARMED_BEFORE_CREATE
    logs = [
        {
            "hookType": "global",
            "hookName": "global",
            "hookScript": GLOBAL_WARM_HOOK_SCRIPT,
            **_output_fields(GLOBAL_WARM_HOOK_OUTPUT, 0, executed_at),
        }
    ]
    for worktree in worktrees:
        repo = worktree.repository
        logs.append(
            {
                "hookType": "repository",
                "hookName": repo.name,
                "hookScript": repo.warm_hook_script,
                **_output_fields(repo.warm_hook_output, 0, executed_at),
            }
        )
    return logs


def environment_start_log(executed_at: datetime) -> Json:
    """Return the log of the environment-level start hook."""
    commands = list(ENVIRONMENT_START_COMMANDS)
    output = "".join(f"$ {command}\n" for command in commands)
    return {
        "hookType": "environment",
        "hookName": "environment",
        "repoName": "environment",
        "hookCommands": commands,
        **_output_fields(output, 0, executed_at),
    }


def repository_start_log(worktree: Worktree, executed_at: datetime) -> Json:
    """Return the log of one repository's start hook."""
    hook = worktree.repository.start_hook
    return {
        "hookType": "repository",
        "hookName": worktree.repository.name,
        "repoName": worktree.repository.name,
        "hookCommands": list(hook.commands),
        **_output_fields(hook.output, hook.exit_code, executed_at),
    }


def with_failing_start_hook(repo: RepositorySeed) -> RepositorySeed:
    """Return `repo` with a start hook whose last command fails (exit code 1).

    The output runs up to that command, then says it failed, the way the
    shell's `set -e` would stop the script there.
    """
    hook = repo.start_hook
    last = hook.commands[-1] if hook.commands else "true"
    prompt = f"$ {last}\n"
    before = hook.output.rsplit(prompt, 1)[0]
    output = f"{before}{prompt}error: `{last}` exited with status 1\n"
    return replace(repo, start_hook=replace(hook, output=output, exit_code=1))
