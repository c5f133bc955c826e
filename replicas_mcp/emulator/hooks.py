"""Warm and start hook log entries (§5.14), with output the seeded repos produce."""

from datetime import datetime, timedelta
from typing import Any

from .clock import format_timestamp
from .records import Worktree
from .seed import (
    ENVIRONMENT_START_COMMANDS,
    GLOBAL_WARM_HOOK_OUTPUT,
    GLOBAL_WARM_HOOK_SCRIPT,
)

Json = dict[str, Any]

# The warm pool prepared the sandbox before the workspace was handed out.
_WARMED_BEFORE_CREATE = timedelta(minutes=7)


def _output_fields(output: str, exit_code: int, executed_at: datetime) -> Json:
    return {
        "output": output,
        "outputTruncated": False,
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
        **_output_fields(hook.output, 0, executed_at),
    }
