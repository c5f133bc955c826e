"""Tools for finding, starting, inspecting and deleting replicas."""

from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from ...api import ReplicasClient
from ...api.client import Recovered
from ...models import RepositoryStatus
from .. import arguments
from ..arguments import ImageInput
from ..failures import tool_errors
from ..state import AppState
from ..status import State, observe
from ..views import (
    Part,
    ReplicaSummary,
    ReplicaView,
    View,
    answer,
    describe_details,
    describe_replica,
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
    Words,
    client_of,
    watchers_of,
)

DIFF_PREVIEW_CHARS = 4_000
RECOVERED_NOTE = (
    " (The API's reply was lost; this is the replica it created, found by name:"
    " no second one was made.)"
)
SUMMARY_ROWS = 25


class Target(Part):
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
    environments. Call it before create_replica.
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
    lines = [
        f"{len(catalog.repositories)} repositories, {len(catalog.repository_sets)} "
        f"repository sets, {len(catalog.environments)} environments:"
    ]
    for label, targets in (
        ("repository", catalog.repositories),
        ("set", catalog.repository_sets),
        ("environment", catalog.environments),
    ):
        lines += [f"  {label} {t.name}: {t.id}" for t in targets[:SUMMARY_ROWS]]
        if len(targets) > SUMMARY_ROWS:
            lines.append(f"  ... {len(targets) - SUMMARY_ROWS} more {label} entries")
    return answer(
        catalog, "\n".join(lines), next_calls=["create_replica with one of these ids"]
    )


LifecyclePolicy = Annotated[
    str | None, Field(description="e.g. sleep_when_done, archive_when_done.")
]


class NewReplica(BaseModel):
    # As with a tool's own arguments, a misspelt key is refused, not ignored.
    model_config = ConfigDict(extra="forbid")

    name: str
    message: str
    repository_ids: IdList = None
    repository_set_id: str | None = None
    environment_id: str | None = None
    coding_agent: str | None = None
    model: str | None = None
    lifecycle_policy: str | None = None
    plan_mode: bool | None = None


class Outcome(Part):
    name: str
    replica: ReplicaSummary | None = None
    error: str | None = None


class BatchView(View):
    created: int
    failed: int
    results: list[Outcome]


async def create_replica(
    ctx: Context[AppState],
    name: Annotated[str, Field(description="Slug, no spaces: fix-login-timeout.")],
    message: Annotated[str, Field(description="The task, fully briefed.")],
    repository_ids: Annotated[
        IdList, Field(description="From list_repositories.")
    ] = None,
    repository_set_id: Annotated[str | None, Field(description="Or this.")] = None,
    environment_id: Annotated[str | None, Field(description="Or this.")] = None,
    coding_agent: CodingAgent = None,
    model: ModelName = None,
    lifecycle_policy: LifecyclePolicy = None,
    plan_mode: PlanMode = None,
    images: Annotated[
        list[ImageInput] | None, Field(description="Up to 10 images.")
    ] = None,
) -> Annotated[CallToolResult, ReplicaSummary]:
    """Start a replica (a cloud workspace with a coding agent) and give it a task.

    Returns at once while it boots; follow it with wait_for_replicas.
    """
    spec = NewReplica(
        name=name,
        message=message,
        repository_ids=repository_ids,
        repository_set_id=repository_set_id,
        environment_id=environment_id,
        coding_agent=coding_agent,
        model=model,
        lifecycle_policy=lifecycle_policy,
        plan_mode=plan_mode,
    )
    view, recovered = await _create(client_of(ctx), spec, arguments.images(images))
    note = RECOVERED_NOTE if recovered else ""
    return answer(
        view,
        f"Created {describe_replica(view)}. The agent starts once it has booted.{note}",
        next_calls=[f"wait_for_replicas(replica_ids=[{view.id!r}])"],
    )


async def create_replicas(
    ctx: Context[AppState],
    replicas: Annotated[
        list[NewReplica],
        Field(min_length=1, max_length=10, description="Up to 10 replicas to start."),
    ],
) -> Annotated[CallToolResult, BatchView]:
    """Start up to 10 replicas at once; each gets its own result or error."""
    names = [spec.name for spec in replicas]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        # A create whose reply is lost is found again by its name; two of the
        # same name in one batch could not be told apart.
        msg = f"names must differ within a batch; repeated: {', '.join(repeated)}"
        raise ToolError(msg)

    client = client_of(ctx)
    outcomes: list[Outcome] = [Outcome(name=spec.name) for spec in replicas]

    async def one(index: int, spec: NewReplica) -> None:
        try:
            outcomes[index].replica, _ = await _create(client, spec, None)
        except ToolError as exc:
            outcomes[index].error = str(exc)

    async with anyio.create_task_group() as group:
        for index, spec in enumerate(replicas):
            group.start_soon(one, index, spec)

    created = [o.replica.id for o in outcomes if o.replica is not None]
    if not created:
        reasons = "; ".join(f"{o.name}: {o.error}" for o in outcomes)
        raise ToolError(f"no replica was created: {reasons}")

    view = BatchView(
        created=len(created), failed=len(outcomes) - len(created), results=outcomes
    )
    lines = [f"Created {view.created} of {len(outcomes)} replicas."]
    lines += [f"{o.name}: failed: {o.error}" for o in outcomes if o.error]
    more = [f"wait_for_replicas(replica_ids={created!r})"] if created else None
    return answer(view, "\n".join(lines), next_calls=more)


async def _create(
    client: ReplicasClient, spec: NewReplica, images: list[dict[str, Any]] | None
) -> tuple[ReplicaSummary, bool]:
    """Check one replica's arguments, then create it; failures are ToolErrors.

    Also says whether the replica was found after the API's reply was lost.
    """
    name = arguments.replica_name(spec.name)
    message = arguments.message_text(spec.message)
    repository_set_id = arguments.optional_uuid(
        spec.repository_set_id, field="repository_set_id"
    )
    environment_id = arguments.optional_uuid(
        spec.environment_id, field="environment_id"
    )
    repository_ids = [
        arguments.required_uuid(value, field=f"repository_ids[{index}]")
        for index, value in enumerate(spec.repository_ids or [])
        if value.strip()
    ]
    given = [
        field
        for field, value in (
            ("repository_ids", repository_ids),
            ("repository_set_id", repository_set_id),
            ("environment_id", environment_id),
        )
        if value
    ]
    if len(given) != 1:
        msg = (
            "say where the agent works with exactly one of repository_ids, "
            "repository_set_id or environment_id (got "
            f"{', '.join(given) or 'none'}); list_repositories shows them"
        )
        raise ToolError(msg)

    with tool_errors():
        replica = await client.create_replica(
            name=name,
            message=message,
            repository_ids=repository_ids or None,
            repository_set_id=repository_set_id,
            environment_id=environment_id,
            coding_agent=arguments.enum_word(spec.coding_agent, field="coding_agent"),
            model=arguments.optional_text(spec.model),
            lifecycle_policy=arguments.enum_word(
                spec.lifecycle_policy, field="lifecycle_policy"
            ),
            plan_mode=spec.plan_mode,
            images=images,
        )

    return replica_summary(replica), isinstance(replica, Recovered)


async def list_replicas(
    ctx: Context[AppState],
    page: Annotated[int, Field(ge=1)] = 1,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
    status: Annotated[str | None, Field(description="e.g. active, sleeping.")] = None,
) -> Annotated[CallToolResult, ReplicaPageView]:
    """List your replicas, newest first."""
    client = client_of(ctx)
    with tool_errors():
        result = await client.list_replicas(
            page=page, limit=limit, status=arguments.enum_word(status, field="status")
        )

    view = ReplicaPageView(
        replicas=[replica_summary(r) for r in result.replicas],
        page=result.page,
        total=result.total,
        total_pages=result.total_pages,
    )
    if not view.replicas:
        lines = [f"No replicas on page {page} ({view.total} in all)."]
    else:
        lines = [f"Page {view.page} of {view.total_pages} ({view.total} replicas)."]
    lines += [describe_replica(r) for r in view.replicas]
    more = [f"list_replicas(page={page + 1})"] if page < view.total_pages else None
    return answer(view, "\n".join(lines), next_calls=more)


async def get_replica(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    include: Annotated[
        list[Literal["environment", "diffs"]] | None,
        Words,
        Field(description="diffs: a preview; see get_diff."),
    ] = None,
) -> Annotated[CallToolResult, ReplicaView]:
    """Show a replica's state, chats, branches, changes and pull requests.

    Reading a sleeping replica wakes it; list_replicas does not.
    """
    replica_id = arguments.replica_id(replica_id)
    include = include or []
    watcher = watchers_of(ctx).get(replica_id)
    with tool_errors(replica_id=replica_id):
        details, found, _ = await observe(
            client_of(ctx),
            replica_id,
            include=include,
            live=watcher.live if watcher else None,
        )

    view = replica_view(details)
    view.state, view.state_detail = found.name, found.detail
    if "environment" not in include:
        view.environment = None
    if "diffs" in include:
        _attach_diff_previews(view, details.repository_statuses or [])

    return answer(view, describe_details(view), next_calls=_next_for(view, found))


async def delete_replica(
    ctx: Context[AppState], replica_id: ReplicaId
) -> Annotated[CallToolResult, Deleted]:
    """Delete a replica for good; pushed branches and PRs stay."""
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


def _next_for(view: ReplicaView, state: State) -> list[str]:
    target = f"replica_id={view.id!r}"
    if state.name != "idle":
        return [state.next_call]

    return [
        f"get_history({target}) for the agent's reply",
        f"get_diff({target}) for its changes",
        f"send_message({target}, ...) to continue",
    ]


TOOLS = [
    ToolSpec(list_repositories, "List repositories", READ),
    ToolSpec(create_replica, "Create replica", WRITE),
    ToolSpec(create_replicas, "Create replicas", WRITE),
    ToolSpec(list_replicas, "List replicas", READ),
    ToolSpec(get_replica, "Get replica", READ),
    ToolSpec(delete_replica, "Delete replica", DELETE),
]
