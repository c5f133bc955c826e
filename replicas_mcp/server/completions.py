"""Argument completion for replica and chat ids."""

from mcp.server.mcpserver import MCPServer
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from ..api import ReplicasClient
from ..errors import ReplicasError
from . import arguments
from .live import status_without_waking
from .state import AppState

MAX_VALUES = 100
CODING_AGENTS = ("claude", "codex", "cursor", "opencode", "pi")


def register_completions(server: MCPServer[AppState], client: ReplicasClient) -> None:
    """Complete `replica_id` from recent replicas and `chat_id` from its chats."""

    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        try:
            if argument.name == "replica_id":
                values = await _replica_ids(client, argument.value)
            elif argument.name == "chat_id":
                values = await _chat_ids(client, argument.value, context)
            elif argument.name == "repository":
                repositories = await client.list_repositories()
                values = [r.name for r in repositories if argument.value in r.name]
            elif argument.name == "agent":
                values = [a for a in CODING_AGENTS if a.startswith(argument.value)]
            else:
                return None
        except ReplicasError:
            # Completion is a convenience; an unreachable API means no hints.
            return Completion(values=[])

        return Completion(
            values=values[:MAX_VALUES],
            total=len(values),
            has_more=len(values) > MAX_VALUES,
        )


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
