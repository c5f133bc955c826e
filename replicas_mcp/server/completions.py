"""Argument completion for replica and chat ids."""

from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import (
    CompleteRequestParams,
    CompleteResult,
    Completion,
    CompletionArgument,
    CompletionContext,
)

from ..api import ReplicasClient
from ..errors import ReplicasError
from . import arguments
from .live import status_without_waking
from .state import AppState, tenant_of

MAX_VALUES = 100
CODING_AGENTS = ("claude", "codex", "cursor", "opencode", "pi")


def register_completions(server: MCPServer[AppState]) -> None:
    """Complete `replica_id` from recent replicas and `chat_id` from its chats.

    Each request is completed from the replicas of its own tenant.
    """

    async def complete(
        ctx: ServerRequestContext[AppState, Any], params: CompleteRequestParams
    ) -> CompleteResult:
        tenant = tenant_of(ctx)
        # Without a key there is nothing to look up; hints are optional.
        if tenant is None:
            return CompleteResult(completion=Completion(values=[]))

        try:
            values = await _values(tenant.client, params.argument, params.context)
        except ReplicasError:
            # Completion is a convenience; an unreachable API means no hints.
            values = []

        if values is None:
            return CompleteResult(completion=Completion(values=[]))

        completion = Completion(
            values=values[:MAX_VALUES],
            total=len(values),
            has_more=len(values) > MAX_VALUES,
        )
        return CompleteResult(completion=completion)

    # `MCPServer.completion()` hands its function no request context, and the
    # tenant is in the request's headers, so the handler goes one level down
    # (what the decorator does too; the capability is advertised the same).
    lowlevel = server._lowlevel_server  # pyright: ignore[reportPrivateUsage]
    lowlevel.add_request_handler("completion/complete", CompleteRequestParams, complete)


async def _values(
    client: ReplicasClient,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> list[str] | None:
    """Every value that completes `argument`; None if it is not one we know."""
    if argument.name == "replica_id":
        return await _replica_ids(client, argument.value)

    if argument.name == "chat_id":
        return await _chat_ids(client, argument.value, context)

    if argument.name == "repository":
        repositories = await client.list_repositories()
        return [r.name for r in repositories if argument.value in r.name]

    if argument.name == "agent":
        return [a for a in CODING_AGENTS if a.startswith(argument.value)]

    return None


async def _replica_ids(client: ReplicasClient, typed: str) -> list[str]:
    page = await client.list_replicas(limit=100)
    return [
        replica.id
        for replica in page.replicas
        if replica.id.startswith(typed) or typed.lower() in replica.name.lower()
    ]


async def _chat_ids(
    client: ReplicasClient, typed: str, context: CompletionContext | None
) -> list[str]:
    replica_id = ((context and context.arguments) or {}).get("replica_id", "")
    if not arguments.is_uuid(replica_id):
        return []

    # Listing chats wakes a sleeping replica: not worth it for a hint.
    if await status_without_waking(client, replica_id) != "active":
        return []

    chats = await client.list_chats(replica_id)
    return [chat.id for chat in chats.chats if chat.id.startswith(typed)]
