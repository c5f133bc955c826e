"""Read-only views of a replica as MCP resources."""

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from . import arguments
from .failures import resource_errors
from .state import AppState

STATUS_URI = "replicas://replica/{replica_id}"
DIFFS_URI = "replicas://replica/{replica_id}/diffs"


def register_resources(mcp: MCPServer[AppState]) -> None:
    """Add the replica resource templates to the server."""
    mcp.resource(
        STATUS_URI,
        name="replica",
        title="Replica status",
        description="A replica's status, chats, branches and diff stats as JSON.",
        mime_type="application/json",
    )(replica_status)
    mcp.resource(
        DIFFS_URI,
        name="replica_diffs",
        title="Replica diffs",
        description="Every change the replica's agent made, as one unified diff.",
        mime_type="text/x-diff",
    )(replica_diffs)


async def replica_status(replica_id: str, ctx: Context[AppState]) -> dict[str, Any]:
    uri = STATUS_URI.format(replica_id=replica_id)
    with resource_errors(uri, replica_id=replica_id):
        replica_id = _checked_id(replica_id)
        client = ctx.request_context.lifespan_context.client
        details = await client.get_replica(replica_id)

    return details.model_dump(mode="json", exclude_none=True)


async def replica_diffs(replica_id: str, ctx: Context[AppState]) -> str:
    uri = DIFFS_URI.format(replica_id=replica_id)
    with resource_errors(uri, replica_id=replica_id):
        replica_id = _checked_id(replica_id)
        client = ctx.request_context.lifespan_context.client
        details = await client.get_replica(replica_id, include=("diffs",))

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
        if len(changed) > 1:
            parts.append(f"# repository: {repository}\n")
        parts.append(diff if diff.endswith("\n") else diff + "\n")

    return "".join(parts)


def _checked_id(replica_id: str) -> str:
    if not arguments.is_uuid(replica_id):
        raise ResourceNotFoundError(arguments.not_a_replica_id(replica_id))

    return replica_id
