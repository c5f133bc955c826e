"""The diff tool: a stat, a file list, or the patch itself in pages."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from .. import arguments, budget, patches
from ..failures import tool_errors
from ..patches import FilePatch
from ..state import AppState
from ..views import View, answer
from ._common import READ, ReplicaId, ToolSpec, client_of

OVERHEAD = 1_000
TOP_FILES = 15


class RepoStat(BaseModel):
    repository: str
    files: int
    added: int
    removed: int


class FileStat(BaseModel):
    repository: str
    path: str
    status: str
    added: int
    removed: int


class DiffView(View):
    replica_id: str
    mode: str
    waking: bool | None = None
    repos: list[RepoStat]
    files: list[FileStat] | None = None
    offset: int | None = None
    next_offset: int | None = None
    total: int | None = None


async def get_diff(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    mode: Annotated[
        Literal["stat", "files", "patch"],
        Field(description="stat: totals; files: per-file counts; patch: the diff."),
    ] = "stat",
    path: Annotated[
        str | None, Field(description="Only files matching this glob or text.")
    ] = None,
    repository: Annotated[
        str | None, Field(description="Only this repository, e.g. acme/web.")
    ] = None,
    offset: Annotated[
        int, Field(ge=0, description="Where to resume (next_offset).")
    ] = 0,
    max_tokens: budget.MaxTokens = budget.DEFAULT_TOKENS,
) -> Annotated[CallToolResult, DiffView]:
    """Show what a replica's agent changed: totals, a file list, or the unified
    diff itself, paged to fit (follow next_offset).
    """
    replica_id = arguments.replica_id(replica_id)
    with tool_errors(replica_id=replica_id):
        details = await client_of(ctx).get_replica(replica_id, include=("diffs",))

    files: list[FilePatch] = []
    for status in details.repository_statuses or []:
        if repository and status.repository != repository.strip():
            continue
        if status.git_diff is not None and status.git_diff.full_diff:
            files += patches.split(status.repository, status.git_diff.full_diff)
    files = patches.matching(files, arguments.optional_text(path))

    room = budget.chars(max_tokens) - OVERHEAD
    view = DiffView(replica_id=replica_id, mode=mode, repos=_repo_stats(files))
    if details.waking:
        view.waking = True
        return answer(view, "The replica is asleep and waking; retry in 30-90 s.")

    if mode == "patch":
        labelled = len(details.repositories) > 1
        return _patch_page(view, files, offset, room, labelled=labelled)
    if mode == "files":
        return _file_page(view, files, offset, room)

    return _stat(view, files)


def _repo_stats(files: list[FilePatch]) -> list[RepoStat]:
    stats: dict[str, RepoStat] = {}
    for file in files:
        stat = stats.setdefault(
            file.repository,
            RepoStat(repository=file.repository, files=0, added=0, removed=0),
        )
        stat.files += 1
        stat.added += file.added
        stat.removed += file.removed

    return list(stats.values())


def _file_stat(file: FilePatch) -> FileStat:
    return FileStat(
        repository=file.repository,
        path=file.path,
        status=file.status,
        added=file.added,
        removed=file.removed,
    )


def _stat(view: DiffView, files: list[FilePatch]) -> CallToolResult:
    biggest = sorted(files, key=lambda f: f.added + f.removed, reverse=True)
    view.files = [_file_stat(f) for f in biggest[:TOP_FILES]]
    lines = [
        f"{s.repository}: {s.files} files, +{s.added} -{s.removed}" for s in view.repos
    ]
    lines += [f"  {f.path} +{f.added} -{f.removed} ({f.status})" for f in view.files]
    if len(files) > TOP_FILES:
        lines.append(
            f"  ... {len(files) - TOP_FILES} more files (mode=files lists all)"
        )

    target = f"replica_id={view.replica_id!r}"
    return answer(
        view,
        "\n".join(lines) or "No changes.",
        next_calls=[f"get_diff({target}, mode='patch')"] if files else None,
    )


def _file_page(
    view: DiffView, files: list[FilePatch], offset: int, room: int
) -> CallToolResult:
    view.files, used = [], 0
    view.offset, view.total = offset, len(files)
    for index in range(offset, len(files)):
        stat = _file_stat(files[index])
        used += len(stat.model_dump_json()) + 1
        if used > room:
            view.next_offset = index
            break
        view.files.append(stat)

    shown = len(view.files)
    summary = f"Files {offset + 1}-{offset + shown} of {len(files)}."
    more = None
    if view.next_offset is not None:
        target = f"replica_id={view.replica_id!r}"
        more = [f"get_diff({target}, mode='files', offset={view.next_offset})"]
    return answer(view, summary, next_calls=more)


def _patch_page(
    view: DiffView, files: list[FilePatch], offset: int, room: int, *, labelled: bool
) -> CallToolResult:
    """A page of patch text; with several repositories each file says whose it is."""
    text = "".join(
        (f"# repository: {f.repository}\n" if labelled else "") + _ended(f.text)
        for f in files
    )
    # Pages end on whole lines, so every page is valid diff text.
    chunk = budget.head_that_fits(text[offset : offset + room], room)

    end = offset + len(chunk)
    view.offset, view.total = offset, len(text)
    view.next_offset = end if end < len(text) else None
    header = f"Patch characters {offset}-{end} of {len(text)}" + (
        f"; continue with offset={end}." if view.next_offset else " (end)."
    )
    result = answer(view, header)
    result.content.append(TextContent(type="text", text=chunk or "(no changes)\n"))
    return result


def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


TOOLS = [ToolSpec(get_diff, "Get diff", READ)]
