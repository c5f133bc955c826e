"""Tools for finding, starting, inspecting and deleting replicas."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ...models import RepositoryStatus
from .. import arguments
from ..arguments import ImageInput
from ..failures import tool_errors
from ..state import AppState
from ..views import (
    ReplicaSummary,
    ReplicaView,
    View,
    answer,
    describe_details,
    describe_replica,
    is_working,
    replica_summary,
    replica_view,
)
from ._common import (
    DELETE,
    READ,
    WRITE,
    CodingAgent,
    IdList,
    ModelName,
    PlanMode,
    ReplicaId,
    ToolSpec,
    client_of,
)

DIFF_PREVIEW_CHARS = 4_000


class Target(BaseModel):
    id: str
    name: str
    repositories: list[str]


class Catalog(View):
    repositories: list[Target]
    repository_sets: list[Target]
    environments: list[Target]


class ReplicaPageView(View):
    replicas: list[ReplicaSummary]
    page: int
    total: int
    total_pages: int


class Deleted(View):
    id: str
    deleted: bool


async def list_repositories(
    ctx: Context[AppState],
) -> Annotated[CallToolResult, Catalog]:
    """List what a replica can start from: repositories, repository sets and
    environments (an environment brings its repositories, secrets and setup hooks).

    Call it before create_replica to find the id to pass.
    """
    client = client_of(ctx)
    with tool_errors():
        repositories = await client.list_repositories()
        sets = await client.list_repository_sets()
        environments = await client.list_environments()

    names = {repo.id: repo.name for repo in repositories}
    by_set = {s.id: [r.name for r in s.repositories] for s in sets}
    catalog = Catalog(
        repositories=[
            Target(id=r.id, name=r.name, repositories=[r.name]) for r in repositories
        ],
        repository_sets=[
            Target(id=s.id, name=s.name, repositories=by_set[s.id]) for s in sets
        ],
        environments=[
            Target(
                id=env.id,
                name=env.name,
                repositories=[names[env.repository_id]]
                if env.repository_id in names
                else by_set.get(env.repository_set_id or "", []),
            )
            for env in environments
            # The organisation-wide layer applies to every replica; it is not
            # something to start one from.
            if not env.is_global
        ],
    )
    summary = (
        f"{len(catalog.repositories)} repositories, {len(catalog.repository_sets)} "
        f"repository sets, {len(catalog.environments)} environments."
    )
    return answer(catalog, summary, next_calls=["create_replica with one of these ids"])


async def create_replica(
    ctx: Context[AppState],
    name: Annotated[
        str, Field(description="Short slug without spaces, e.g. fix-login-timeout.")
    ],
    message: Annotated[str, Field(description="The task, as you'd brief a colleague.")],
    repository_ids: Annotated[
        IdList, Field(description="Repository ids; the first one's environment.")
    ] = None,
    repository_set_id: Annotated[
        str | None, Field(description="Or a repository set id.")
    ] = None,
    environment_id: Annotated[
        str | None, Field(description="Or an environment id.")
    ] = None,
    coding_agent: CodingAgent = None,
    model: ModelName = None,
    lifecycle_policy: Annotated[
        str | None,
        Field(
            description="default, sleep_when_done, archive_when_done or "
            "delete_after_inactivity."
        ),
    ] = None,
    plan_mode: PlanMode = None,
    images: Annotated[
        list[ImageInput] | None, Field(description="Up to 10 images for the agent.")
    ] = None,
) -> Annotated[CallToolResult, ReplicaSummary]:
    """Start a replica (a cloud workspace with a coding agent) and give it a task.

    Returns at once while it boots; follow it with get_replica.
    """
    name = arguments.replica_name(name)
    message = arguments.message_text(message)
    repository_set_id = arguments.optional_text(repository_set_id)
    environment_id = arguments.optional_text(environment_id)
    repository_ids = [i.strip() for i in repository_ids or [] if i.strip()] or None
    targets = [
        name
        for name, value in (
            ("repository_ids", repository_ids),
            ("repository_set_id", repository_set_id),
            ("environment_id", environment_id),
        )
        if value
    ]
    if len(targets) != 1:
        msg = (
            "say where the agent works with exactly one of repository_ids, "
            "repository_set_id or environment_id (got "
            f"{', '.join(targets) or 'none'}); list_repositories shows them"
        )
        raise ToolError(msg)

    client = client_of(ctx)
    with tool_errors():
        replica = await client.create_replica(
            name=name,
            message=message,
            repository_ids=repository_ids,
            repository_set_id=repository_set_id,
            environment_id=environment_id,
            coding_agent=arguments.optional_text(coding_agent),
            model=arguments.optional_text(model),
            lifecycle_policy=arguments.optional_text(lifecycle_policy),
            plan_mode=plan_mode,
            images=arguments.images(images),
        )

    view = replica_summary(replica)
    return answer(
        view,
        f"Created {describe_replica(view)}. The agent starts once it has booted.",
        next_calls=[f"get_replica(replica_id={view.id!r}) to follow it"],
    )


async def list_replicas(
    ctx: Context[AppState],
    page: Annotated[int, Field(ge=1, description="Page, from 1.")] = 1,
    limit: Annotated[int, Field(ge=1, le=100, description="Per page.")] = 20,
    status: Annotated[
        str | None, Field(description="Only this status: active, sleeping, ...")
    ] = None,
) -> Annotated[CallToolResult, ReplicaPageView]:
    """List your replicas, newest first."""
    client = client_of(ctx)
    with tool_errors():
        result = await client.list_replicas(
            page=page, limit=limit, status=arguments.optional_text(status)
        )

    view = ReplicaPageView(
        replicas=[replica_summary(r) for r in result.replicas],
        page=result.page,
        total=result.total,
        total_pages=result.total_pages,
    )
    lines = [f"Page {view.page} of {view.total_pages} ({view.total} replicas)."]
    lines += [describe_replica(r) for r in view.replicas]
    more = [f"list_replicas(page={page + 1})"] if page < view.total_pages else None
    return answer(view, "\n".join(lines), next_calls=more)


async def get_replica(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    include: Annotated[
        list[Literal["environment", "diffs"]] | None,
        Field(description="Extras: environment; diffs (a preview; see get_diff)."),
    ] = None,
) -> Annotated[CallToolResult, ReplicaView]:
    """Show a replica: status, chats (processing = the agent is working),
    branches, change counts and pull requests.

    Reading a sleeping replica wakes it; list_replicas shows status without that.
    """
    replica_id = arguments.replica_id(replica_id)
    include = include or []
    client = client_of(ctx)
    with tool_errors(replica_id=replica_id):
        details = await client.get_replica(replica_id, include=include)

    view = replica_view(details)
    if "diffs" in include:
        _attach_diff_previews(view, details.repository_statuses or [])

    return answer(view, describe_details(view), next_calls=_next_for(view))


async def delete_replica(
    ctx: Context[AppState], replica_id: ReplicaId
) -> Annotated[CallToolResult, Deleted]:
    """Delete a replica for good: its workspace, branch state and chats.

    Pushed branches and pull requests stay on the git host.
    """
    replica_id = arguments.replica_id(replica_id)
    with tool_errors(replica_id=replica_id):
        await client_of(ctx).delete_replica(replica_id)

    return answer(
        Deleted(id=replica_id, deleted=True), f"Deleted replica {replica_id}."
    )


def _attach_diff_previews(view: ReplicaView, statuses: list[RepositoryStatus]) -> None:
    """Put the start of each repository's diff beside its counts."""
    for repo, status in zip(view.repos or [], statuses, strict=False):
        diff = status.git_diff.full_diff if status.git_diff else ""
        if len(diff) > DIFF_PREVIEW_CHARS:
            cut = diff.rfind("\n", 0, DIFF_PREVIEW_CHARS) + 1
            diff = diff[:cut] + f"[... {len(diff) - cut} more characters: get_diff]\n"
        repo.diff = diff


def _next_for(view: ReplicaView) -> list[str]:
    target = f"replica_id={view.id!r}"
    if view.waking:
        return [f"get_replica({target}) again in a minute"]

    if is_working(view):
        return [f"get_replica({target}) again shortly", f"get_history({target})"]

    return [
        f"get_history({target}) for the agent's reply",
        f"get_diff({target}) for its changes",
        f"send_message({target}, ...) to continue",
    ]


TOOLS = [
    ToolSpec(list_repositories, "List repositories", READ),
    ToolSpec(create_replica, "Create replica", WRITE),
    ToolSpec(list_replicas, "List replicas", READ),
    ToolSpec(get_replica, "Get replica", READ),
    ToolSpec(delete_replica, "Delete replica", DELETE),
]
