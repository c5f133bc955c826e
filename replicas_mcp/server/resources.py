"""Read-only views of a replica as MCP resources.

Each one has a tool twin (get_replica, get_diff, get_history, get_hooks),
because many hosts never let the model read resources.
"""

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from ..api import ReplicasClient
from . import arguments, budget
from .failures import resource_errors
from .state import AppState, require_tenant
from .status import observe
from .tenants import Tenant
from .transcript import entry

STATUS_URI = "replicas://replica/{replica_id}"
DIFFS_URI = "replicas://replica/{replica_id}/diffs"
HISTORY_URI = "replicas://replica/{replica_id}/chats/{chat_id}/history"
HOOKS_URI = "replicas://replica/{replica_id}/hooks"

# Resources are read whole, so text ones stop at the hard cap of a tool answer,
# less room for the escaping JSON adds on the wire.
TEXT_LIMIT = budget.chars(budget.MAX_TOKENS) * 9 // 10
HISTORY_EVENTS = 500


def register_resources(mcp: MCPServer[AppState]) -> None:
    """Add the replica resource templates to the server."""
    templates = [
        (STATUS_URI, "replica", "Replica status", "application/json", replica_status),
        (DIFFS_URI, "replica_diffs", "Replica diffs", "text/x-diff", replica_diffs),
        (HISTORY_URI, "chat_history", "Chat history", "text/plain", chat_history),
        (HOOKS_URI, "replica_hooks", "Setup hook logs", "text/plain", hook_logs),
    ]
    for uri, name, title, mime_type, handler in templates:
        description = (handler.__doc__ or "").strip()
        mcp.resource(
            uri, name=name, title=title, description=description, mime_type=mime_type
        )(handler)


async def replica_status(replica_id: str, ctx: Context[AppState]) -> dict[str, Any]:
    """A replica's status, chats, branches and change counts, as JSON."""
    uri = STATUS_URI.format(replica_id=replica_id)
    tenant = _tenant(ctx)
    watcher = tenant.watchers.get(replica_id)
    with resource_errors(uri, replica_id=replica_id):
        details, state, _ = await observe(
            tenant.client, _checked(replica_id), live=watcher.live if watcher else None
        )

    body = details.model_dump(mode="json", exclude_none=True, exclude={"environment"})
    body["state"] = {
        "name": state.name,
        "detail": state.detail,
        "next": state.next_call,
    }
    return body


async def replica_diffs(replica_id: str, ctx: Context[AppState]) -> str:
    """Everything the replica's agent changed, as one unified diff."""
    uri = DIFFS_URI.format(replica_id=replica_id)
    with resource_errors(uri, replica_id=replica_id):
        details = await _client(ctx).get_replica(
            _checked(replica_id), include=("diffs",)
        )

    if details.waking:
        raise ResourceError(
            f"{uri}: the replica is asleep and waking; retry in 30-90 s"
        )

    changed = [
        (status.repository, status.git_diff.full_diff)
        for status in details.repository_statuses or []
        if status.git_diff is not None and status.git_diff.full_diff
    ]
    # With several repositories, a comment line before each diff says whose it
    # is; patch tools skip text before a `diff --git` header. An empty text is
    # the honest answer for "no changes yet".
    parts: list[str] = []
    for repository, diff in changed:
        if len(details.repositories) > 1:
            parts.append(f"# repository: {repository}\n")
        parts.append(diff if diff.endswith("\n") else diff + "\n")

    more = f"get_diff(replica_id='{details.id}', mode='patch') pages through all"
    return _head("".join(parts), TEXT_LIMIT, more)


async def chat_history(replica_id: str, chat_id: str, ctx: Context[AppState]) -> str:
    """The newest part of one chat's conversation, as readable text."""
    uri = HISTORY_URI.format(replica_id=replica_id, chat_id=chat_id)
    with resource_errors(uri, replica_id=replica_id):
        history = await _client(ctx).get_history(
            _checked(replica_id), chat_id=chat_id, limit=HISTORY_EVENTS
        )

    if history.waking:
        raise ResourceError(
            f"{uri}: the replica is asleep and waking; retry in 30-90 s"
        )

    header = f"# chat {chat_id}: {history.total} events, newest last\n"
    lines = [
        f"[{event.timestamp:%H:%M:%S}] {item.role} {item.kind}: {item.text}\n"
        for event, item in ((event, entry(event)) for event in history.events)
    ]
    body = _tail("".join(lines), TEXT_LIMIT - len(header))
    if len(body) < sum(map(len, lines)) or history.has_more:
        header += "# older events left out; get_history(offset=...) reads them all\n"
    return header + body


async def hook_logs(replica_id: str, ctx: Context[AppState]) -> str:
    """Every setup hook's log, warm hooks first."""
    uri = HOOKS_URI.format(replica_id=replica_id)
    with resource_errors(uri, replica_id=replica_id):
        logs = await _client(ctx).get_hooks(_checked(replica_id))

    runs = [
        (phase, log)
        for phase, entries in (("warm", logs.warm_hooks), ("start", logs.start_hooks))
        for log in entries
    ]
    share = TEXT_LIMIT // max(1, len(runs))
    parts: list[str] = []
    for phase, log in runs:
        state = "timed out" if log.timed_out else f"exit {log.exit_code}"
        output = _tail(log.output, share)
        cut = (
            " (earlier lines left out; get_hooks pages back)"
            if output != log.output
            else ""
        )
        parts.append(f"## {phase} hook {log.hook_name} ({state}){cut}\n{output}\n")

    return "".join(parts)


def _head(text: str, limit: int, more: str) -> str:
    """The start of `text` in whole lines, with `more` saying how to get the rest."""
    if budget.encoded_len(text) <= limit:
        return text

    head = budget.head_that_fits(text, limit - len(more) - 40)
    return head + f"[... {len(text) - len(head)} more characters: {more}]\n"


def _tail(text: str, limit: int) -> str:
    """The end of `text` in whole lines (failures and results are at the end)."""
    if budget.encoded_len(text) <= limit:
        return text

    reversed_lines = "".join(reversed(text.splitlines(keepends=True)))
    kept = budget.head_that_fits(reversed_lines, limit)
    return "".join(reversed(kept.splitlines(keepends=True)))


def _client(ctx: Context[AppState]) -> ReplicasClient:
    return _tenant(ctx).client


def _tenant(ctx: Context[AppState]) -> Tenant:
    return require_tenant(ctx.request_context, ResourceError)


def _checked(replica_id: str) -> str:
    if not arguments.is_uuid(replica_id):
        raise ResourceNotFoundError(arguments.not_a_replica_id(replica_id))

    return replica_id
