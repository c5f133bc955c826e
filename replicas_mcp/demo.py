"""`replicas-mcp demo`: one delegation, end to end, through a real MCP client.

It starts `replicas-mcp serve --emulator` as a stdio subprocess, exactly as an
MCP host would, and prints what each step returns.
"""

import sys
import textwrap
from typing import Any, TypeVar

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import TextContent, TextResourceContents
from pydantic import BaseModel

from .models import History, HistoryEvent, HookLogs, Replica, ReplicaDetails
from .server.tools import RepositoryCatalog

TASK = "Show a clear error message when login fails, and add a test for it."
FOLLOW_TIMEOUT = 60.0
POLL_INTERVAL = 0.5

_M = TypeVar("_M", bound=BaseModel)


async def run_demo() -> int:
    """Drive the whole delegation; return the process exit status."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "replicas_mcp", "serve", "--emulator"]
    )
    async with Client(server) as client:
        _heading("1. What can the agent work on?  (list_repositories)")
        catalog = await _call(client, RepositoryCatalog, "list_repositories")
        for repo in catalog.repositories:
            _say(f"{repo.name:<14} {repo.id}")

        repository = catalog.repositories[0]
        _heading(f"2. Delegate a task on {repository.name}  (create_replica)")
        _say(f"task: {TASK}")
        replica = await _call(
            client,
            Replica,
            "create_replica",
            name="demo-healthz",
            message=TASK,
            repository_ids=[repository.id],
        )
        _say(f"replica {replica.id} is {replica.status}")

        _heading("3. Follow it until the agent's turn completes  (get_replica)")
        details = await _follow(client, replica.id)

        _heading("4. What did the agent say?  (get_history)")
        history = await _call(client, History, "get_history", replica_id=replica.id)
        _say(_last_agent_text(history.events) or "(no text from the agent)")

        _heading("5. Setup hook logs  (get_hooks)")
        hooks = await _call(client, HookLogs, "get_hooks", replica_id=replica.id)
        for log in hooks.warm_hooks + hooks.start_hooks:
            _say(f"[{log.hook_name}] exit {log.exit_code}")
            _say(textwrap.indent(log.output.rstrip(), "    "))

        uri = f"replicas://replica/{replica.id}/diffs"
        _heading(f"6. The change  (resource {uri})")
        diff = await client.read_resource(uri)
        for content in diff.contents:
            if isinstance(content, TextResourceContents):
                _say(content.text.rstrip() or "(no changes)")

        _heading("Done")
        _say(f"replica {replica.id}: {len(details.pull_requests)} pull request(s)")

    return 0


async def _follow(client: Client, replica_id: str) -> ReplicaDetails:
    last = None
    with anyio.fail_after(FOLLOW_TIMEOUT):
        while True:
            details = await _call(
                client, ReplicaDetails, "get_replica", replica_id=replica_id
            )
            state = _describe(details)
            if state != last:
                _say(state)
                last = state
            if _turn_done(details):
                return details
            await anyio.sleep(POLL_INTERVAL)


def _turn_done(details: ReplicaDetails) -> bool:
    chats = details.chats or []
    return (
        details.status == "active"
        and bool(chats)
        and not any(chat.processing for chat in chats)
    )


def _describe(details: ReplicaDetails) -> str:
    if details.status != "active":
        return f"status: {details.status}"

    if any(chat.processing for chat in details.chats or []):
        return "status: active, the agent is working"

    stats = [
        f"{status.repository} +{status.git_diff.added} -{status.git_diff.removed}"
        for status in details.repository_statuses or []
        if status.git_diff is not None
    ]
    suffix = f" ({', '.join(stats)})" if stats else ""
    return f"status: active, turn complete{suffix}"


def _last_agent_text(events: list[HistoryEvent]) -> str | None:
    for event in reversed(events):
        if event.type == "claude-assistant":
            message: dict[str, Any] = event.payload.get("message") or {}
            blocks: list[dict[str, Any]] = message.get("content") or []
            texts = [b["text"] for b in blocks if b.get("type") == "text"]
            if texts:
                return "\n".join(texts)

    return None


async def _call(client: Client, model: type[_M], tool: str, **arguments: Any) -> _M:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
        raise SystemExit(f"{tool} failed: {text}")

    return model.model_validate(result.structured_content)


def _heading(text: str) -> None:
    print(f"\n== {text}")


def _say(text: str) -> None:
    print(textwrap.indent(text, "  "))
