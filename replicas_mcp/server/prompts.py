"""Prompts: short, model-facing workflows built on the tools."""

from typing import Annotated

from mcp import MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import INVALID_PARAMS
from pydantic import Field

from .state import AppState


def register_prompts(mcp: MCPServer[AppState], *, can_create: bool) -> None:
    """Add the prompts whose tools the server offers."""
    if can_create:
        mcp.prompt(title="Delegate a task")(delegate_task)
    mcp.prompt(title="Review a replica")(review_replica)


def _required(value: str, name: str) -> str:
    # A prompt that raises anything but MCPError is an internal error on the
    # 2026 protocol; this one says what is missing.
    if not value.strip():
        raise MCPError(INVALID_PARAMS, f"{name} is required and must not be empty")

    return value.strip()


def delegate_task(
    repository: Annotated[str, Field(description="Repository name, e.g. acme/web.")],
    task: Annotated[str, Field(description="What the agent should do.")],
    agent: Annotated[
        str, Field(description="Coding agent: claude, codex, cursor, ...")
    ] = "claude",
) -> str:
    """Hand a coding task to a Replicas agent and report back when it is done."""
    repository, task = _required(repository, "repository"), _required(task, "task")
    return f"""\
Delegate this task to a Replicas cloud agent ({agent}) working on {repository}:

{task}

1. Call list_repositories and find the id of {repository} (or an environment bound
   to it). If it is not there, stop and say which repositories are available.
2. Call create_replica with a short slug as name, the task above as message,
   that id, and coding_agent="{agent}".
3. Call wait_for_replicas until its state is idle or needs_input (each call
   waits up to a minute). If setup fails, read get_hooks and report why.
4. Read get_history (the newest messages) for the agent's summary and
   get_diff (stat, then patch) for its changes.
5. Report: what the agent did, the files it changed, any pull request, and
   anything that looks wrong or unfinished. Suggest a follow-up send_message
   if the work is incomplete."""


def review_replica(
    replica_id: Annotated[str, Field(description="The replica to review.")],
) -> str:
    """Review what a replica's agent did and whether it is ready to merge."""
    replica_id = _required(replica_id, "replica_id")
    return f"""\
Review the work in Replicas replica {replica_id}:

1. get_replica: status, chats still processing, branches, pull requests.
   If an agent is still working, say so and stop.
2. get_history: the task that was asked and the agent's final summary.
3. get_diff with mode="stat", then mode="patch" with path= set to each file
   that matters (a whole big patch is many pages).
4. get_hooks if setup did not complete.

Then give a verdict: does the change do what was asked, is it tested, what is
risky or missing? List concrete follow-ups, phrased so they can be sent with
send_message to the same replica."""
