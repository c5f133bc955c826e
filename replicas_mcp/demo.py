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

from .server.tools.history import HistoryPage
from .server.tools.hooks import HookLogsView
from .server.tools.replicas import Catalog
from .server.tools.waiting import WaitView
from .server.views import ReplicaSummary, ReplicaView, is_working

TASK = "Show a clear error message when login fails, and add a test for it."
FOLLOW_TIMEOUT = 60.0

_M = TypeVar("_M", bound=BaseModel)


async def run_demo() -> int:
    """Drive the whole delegation; return the process exit status."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "replicas_mcp", "serve", "--emulator"]
    )
    async with Client(server) as client:
        _heading("1. What can the agent work on?  (list_repositories)")
        catalog = await _call(client, Catalog, "list_repositories")
        for repo in catalog.repositories:
            _say(f"{repo.name:<14} {repo.id}")

        repository = catalog.repositories[0]
        _heading(f"2. Delegate a task on {repository.name}  (create_replica)")
        _say(f"task: {TASK}")
        replica = await _call(
            client,
            ReplicaSummary,
            "create_replica",
            name="demo-login-error",
            message=TASK,
            repository_ids=[repository.id],
        )
        _say(f"replica {replica.id} is {replica.status}")

        _heading("3. Follow it until the agent is done  (wait_for_replicas)")
        details = await _follow(client, replica.id)

        _heading("4. What did the agent say?  (get_history)")
        history = await _call(
            client, HistoryPage, "get_history", replica_id=replica.id, role="assistant"
        )
        replies = [m.text for m in history.messages if m.kind == "text"]
        _say(replies[0] if replies else "(no text from the agent)")

        _heading("5. Setup hook logs  (get_hooks)")
        hooks = await _call(client, HookLogsView, "get_hooks", replica_id=replica.id)
        for run in hooks.hooks:
            _say(f"[{run.phase} hook {run.name}] exit {run.exit_code}")
            _say(textwrap.indent(run.output.rstrip(), "    ", lambda _: True))

        uri = f"replicas://replica/{replica.id}/diffs"
        _heading(f"6. The change  (resource {uri})")
        diff = await client.read_resource(uri)
        for content in diff.contents:
            if isinstance(content, TextResourceContents):
                _say(content.text.rstrip() or "(no changes)")

        _heading("Done")
        _say(f"replica {replica.id}: {len(details.pull_requests)} pull request(s)")

    return 0


async def _follow(client: Client, replica_id: str) -> ReplicaView:
    """Wait in bounded steps, as a model would, echoing the progress notes."""
    said: list[str] = []

    async def progress(
        progress: float, total: float | None, message: str | None
    ) -> None:
        note = (message or "").partition(": ")[2]
        if note and note not in said:
            said.append(note)
            _say(f"... {note}")

    with anyio.fail_after(FOLLOW_TIMEOUT):
        while True:
            result = await client.call_tool(
                "wait_for_replicas",
                {"replica_ids": [replica_id], "until": "idle", "timeout": 20},
                progress_callback=progress,
            )
            waited = WaitView.model_validate(result.structured_content)
            if not waited.timed_out:
                break

    details = await _call(client, ReplicaView, "get_replica", replica_id=replica_id)
    _say(_describe(details))
    return details


def _describe(details: ReplicaView) -> str:
    if details.status != "active":
        return f"status: {details.status}"

    if is_working(details):
        return "status: active, the agent is working"

    stats = [
        f"{repo.repository} +{repo.added} -{repo.removed}"
        for repo in details.repos or []
        if repo.added is not None
    ]
    suffix = f" ({', '.join(stats)})" if stats else ""
    return f"status: active, turn complete{suffix}"


async def _call(client: Client, model: type[_M], tool: str, **arguments: Any) -> _M:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
        raise SystemExit(f"{tool} failed: {text}")

    return model.model_validate(result.structured_content)


def _heading(text: str) -> None:
    print(f"\n== {text}")


def _say(text: str) -> None:
    # Every line, blank ones too: a diff's context line may be a lone space.
    print(textwrap.indent(text, "  ", lambda _: True))
