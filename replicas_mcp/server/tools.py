"""The MCP tools: one per step of delegating work to a Replicas agent."""

import inspect
from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from ..models import (
    Environment,
    History,
    HookLogs,
    MessageReceipt,
    Replica,
    ReplicaDetails,
    ReplicaPage,
    Repository,
    RepositorySet,
)
from . import arguments
from .arguments import ImageInput
from .failures import tool_errors
from .state import AppState

ReplicaId = Annotated[
    str, Field(description="The replica's id (a UUID), as list_replicas shows it.")
]
ChatId = Annotated[
    str | None,
    Field(description="A chat of the replica; omit for its most recent chat."),
]
CodingAgent = Annotated[
    str | None,
    Field(description="Agent to run: claude (default), codex, cursor, opencode, pi."),
]
Model = Annotated[
    str | None, Field(description="Model for the agent, e.g. sonnet; omit for default.")
]
PlanMode = Annotated[
    bool | None,
    Field(description="Ask for a plan first; the agent changes no files until told."),
]
Images = Annotated[
    list[ImageInput] | None,
    Field(description="Screenshots or mock-ups for the agent (at most 10)."),
]

_READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
_WRITE = ToolAnnotations(
    read_only_hint=False,
    destructive_hint=False,
    idempotent_hint=False,
    open_world_hint=True,
)


class RepositoryCatalog(BaseModel):
    """Everything a new replica can be created from."""

    repositories: list[Repository]
    repository_sets: list[RepositorySet]
    environments: list[Environment]


def register_tools(mcp: MCPServer[AppState]) -> None:
    """Add every tool to the server."""
    for tool, title, annotations in _TOOLS:
        description = _description(tool.__doc__ or "")
        mcp.tool(title=title, description=description, annotations=annotations)(tool)


def _description(docstring: str) -> str:
    """Docstring to description: the SDK would send it raw, indentation and all."""
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


async def list_repositories(ctx: Context[AppState]) -> RepositoryCatalog:
    """List the repositories, repository sets and environments a replica can start
    from. Call it before create_replica to pick the target.
    """
    client = ctx.request_context.lifespan_context.client
    with tool_errors():
        repositories = await client.list_repositories()
        repository_sets = await client.list_repository_sets()
        environments = await client.list_environments()

    usable = [env for env in environments if not env.is_global]
    return RepositoryCatalog(
        repositories=repositories,
        repository_sets=repository_sets,
        environments=usable,
    )


async def create_replica(
    ctx: Context[AppState],
    name: Annotated[
        str,
        Field(description="Short slug for the replica, no spaces (fix-login-timeout)."),
    ],
    message: Annotated[
        str,
        Field(description="The task for the agent, as you would brief a colleague."),
    ],
    repository_ids: Annotated[
        list[str] | None,
        Field(description="Repository ids to check out (from list_repositories)."),
    ] = None,
    repository_set_id: Annotated[
        str | None, Field(description="A repository set id, instead of repository_ids.")
    ] = None,
    environment_id: Annotated[
        str | None,
        Field(description="An environment id; it brings its repos, secrets and hooks."),
    ] = None,
    coding_agent: CodingAgent = None,
    model: Model = None,
    lifecycle_policy: Annotated[
        str | None,
        Field(
            description=(
                "What happens when the agent is done: default, sleep_when_done, "
                "archive_when_done or delete_after_inactivity."
            )
        ),
    ] = None,
    plan_mode: PlanMode = None,
    images: Images = None,
) -> Replica:
    """Start a replica (a cloud workspace with a coding agent) and give it a task.

    Returns at once while the replica boots; follow it with get_replica.
    """
    name = arguments.replica_name(name)
    message = arguments.message_text(message)
    repository_set_id = arguments.optional_id(repository_set_id)
    environment_id = arguments.optional_id(environment_id)
    repository_ids = [i for i in repository_ids or [] if i.strip()] or None
    if not (repository_ids or repository_set_id or environment_id):
        msg = (
            "say where the agent works: give repository_ids, repository_set_id or "
            "environment_id; list_repositories shows them"
        )
        raise ToolError(msg)

    client = ctx.request_context.lifespan_context.client
    with tool_errors():
        return await client.create_replica(
            name=name,
            message=message,
            repository_ids=repository_ids,
            repository_set_id=repository_set_id,
            environment_id=environment_id,
            coding_agent=arguments.optional_id(coding_agent),
            model=arguments.optional_id(model),
            lifecycle_policy=arguments.optional_id(lifecycle_policy),
            plan_mode=plan_mode,
            images=arguments.images(images),
        )


async def send_message(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    message: Annotated[str, Field(description="What the agent should do next.")],
    chat_id: ChatId = None,
    plan_mode: PlanMode = None,
    images: Images = None,
    model: Model = None,
    coding_agent: CodingAgent = None,
) -> MessageReceipt:
    """Send a follow-up message to a replica's agent.

    A busy agent queues it; a sleeping replica is woken first.
    """
    replica_id = arguments.replica_id(replica_id)
    message = arguments.message_text(message)
    chat_id = arguments.optional_id(chat_id)
    client = ctx.request_context.lifespan_context.client
    with tool_errors(replica_id=replica_id, chat_id=chat_id):
        return await client.send_message(
            replica_id,
            message=message,
            chat_id=chat_id,
            coding_agent=arguments.optional_id(coding_agent),
            model=arguments.optional_id(model),
            plan_mode=plan_mode,
            images=arguments.images(images),
        )


async def get_replica(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    include: Annotated[
        list[Literal["environment", "diffs"]] | None,
        Field(description="Extra detail: environment, diffs (full unified diffs)."),
    ] = None,
) -> ReplicaDetails:
    """Show a replica: status, chats, branches, diff stats and pull requests.

    A chat with processing true means its agent is still working.
    """
    replica_id = arguments.replica_id(replica_id)
    client = ctx.request_context.lifespan_context.client
    with tool_errors(replica_id=replica_id):
        return await client.get_replica(replica_id, include=include or ())


async def list_replicas(
    ctx: Context[AppState],
    page: Annotated[int, Field(ge=1, description="Page number, from 1.")] = 1,
    limit: Annotated[int, Field(ge=1, le=100, description="Replicas per page.")] = 10,
    status: Annotated[
        str | None,
        Field(description="Only this status: active, preparing, sleeping, ..."),
    ] = None,
) -> ReplicaPage:
    """List your replicas, newest first."""
    client = ctx.request_context.lifespan_context.client
    with tool_errors():
        return await client.list_replicas(
            page=page, limit=limit, status=arguments.optional_id(status)
        )


async def get_history(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    chat_id: ChatId = None,
    limit: Annotated[
        int, Field(ge=1, le=500, description="How many of the newest events.")
    ] = 50,
    offset: Annotated[
        int, Field(ge=0, description="Skip this many of the newest events.")
    ] = 0,
) -> History:
    """Read a replica's conversation: what was asked, what the agent said and did.

    Events come oldest first within the page; offset pages back in time.
    """
    replica_id = arguments.replica_id(replica_id)
    chat_id = arguments.optional_id(chat_id)
    client = ctx.request_context.lifespan_context.client
    with tool_errors(replica_id=replica_id, chat_id=chat_id):
        return await client.get_history(
            replica_id, chat_id=chat_id, limit=limit, offset=offset
        )


async def get_hooks(ctx: Context[AppState], replica_id: ReplicaId) -> HookLogs:
    """Read a replica's setup hook logs (warm and start hooks).

    Use it to see what setup installed, or why it failed.
    """
    replica_id = arguments.replica_id(replica_id)
    client = ctx.request_context.lifespan_context.client
    with tool_errors(replica_id=replica_id):
        return await client.get_hooks(replica_id)


_TOOLS = [
    (list_repositories, "List repositories", _READ),
    (create_replica, "Create replica", _WRITE),
    (send_message, "Send message to agent", _WRITE),
    (get_replica, "Get replica", _READ),
    (list_replicas, "List replicas", _READ),
    (get_history, "Read conversation history", _READ),
    (get_hooks, "Read setup hook logs", _READ),
]
