"""The diff tool: a stat, a file list, or the patch itself in pages."""

from dataclasses import dataclass
from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from .. import arguments, budget, patches
from ..failures import tool_errors
from ..patches import FilePatch
from ..state import AppState
from ..views import Part, View, answer, call
from ._common import READ, ReplicaId, ToolSpec, client_of

# Room kept for the summary (up to 15 file lines) and the view's own fields.
OVERHEAD = 3_000
TOP_FILES = 15


class RepoStat(Part):
    repository: str
    files: int
    added: int
    removed: int


class FileStat(Part):
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
        Field(description="stat: totals, files: counts, patch: diff."),
    ] = "stat",
    path: Annotated[str | None, Field(description="Glob or text the path has.")] = None,
    repository: str | None = None,
    offset: Annotated[int, Field(ge=0)] = 0,
    max_tokens: budget.MaxTokens = budget.DEFAULT_TOKENS,
) -> Annotated[CallToolResult, DiffView]:
    """Show what a replica's agent changed: totals, files, or the patch in
    pages (follow next_offset).
    """
    replica_id = arguments.replica_id(replica_id)
    path = arguments.optional_text(path)
    repository = arguments.optional_text(repository)
    with tool_errors(replica_id=replica_id):
        details = await client_of(ctx).get_replica(replica_id, include=("diffs",))

    view = DiffView(replica_id=replica_id, mode=mode, repos=[])
    if details.waking:
        view.waking = True
        return answer(view, "The replica is asleep and waking; retry in 30-90 s.")

    names = [status.repository for status in details.repository_statuses or []]
    if repository and repository not in names:
        msg = f"replica has no repository {repository!r}; it has: {', '.join(names)}"
        raise ToolError(msg)

    changed: list[FilePatch] = []
    for status in details.repository_statuses or []:
        if repository in (None, status.repository) and status.git_diff is not None:
            changed += patches.split(status.repository, status.git_diff.full_diff)
    files = patches.matching(changed, path)
    view.repos = _repo_stats(files)
    if changed and not files:
        return answer(
            view,
            f"No changed file matches path={path!r} ({len(changed)} files changed).",
        )

    query = _Query(replica_id, mode, path, repository, max_tokens)
    room = budget.chars(max_tokens) - OVERHEAD
    if mode == "patch":
        labelled = len(details.repositories) > 1
        return _patch_page(view, query, files, offset, room, labelled=labelled)
    if mode == "files":
        return _file_page(view, query, files, offset, room)

    return _stat(view, query, files)


@dataclass(frozen=True)
class _Query:
    """The caller's filters, repeated in every suggested follow-up call."""

    replica_id: str
    mode: str
    path: str | None
    repository: str | None
    max_tokens: int

    def next(self, mode: str, offset: int | None = None) -> str:
        budget_ = None if self.max_tokens == budget.DEFAULT_TOKENS else self.max_tokens
        return call(
            "get_diff",
            replica_id=self.replica_id,
            mode=mode,
            path=self.path,
            repository=self.repository,
            offset=offset,
            max_tokens=budget_,
        )


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


def _file_lines(files: list[FileStat]) -> list[str]:
    return [f"  {f.path} +{f.added} -{f.removed} ({f.status})" for f in files]


def _stat(view: DiffView, query: _Query, files: list[FilePatch]) -> CallToolResult:
    biggest = sorted(files, key=lambda f: f.added + f.removed, reverse=True)
    view.files = [_file_stat(f) for f in biggest[:TOP_FILES]]
    lines = [
        f"{s.repository}: {s.files} files, +{s.added} -{s.removed}" for s in view.repos
    ]
    lines += _file_lines(view.files)
    if len(files) > TOP_FILES:
        lines.append(f"  ... {len(files) - TOP_FILES} more files (mode='files')")

    return answer(
        view,
        "\n".join(lines) or "No changes yet.",
        next_calls=[query.next("patch")] if files else None,
    )


def _file_page(
    view: DiffView, query: _Query, files: list[FilePatch], offset: int, room: int
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

    if not view.files:
        return answer(view, f"No files from offset {offset}; there are {len(files)}.")

    lines = [f"Files {offset + 1}-{offset + len(view.files)} of {len(files)}:"]
    lines += _file_lines(view.files[:TOP_FILES])
    if len(view.files) > TOP_FILES:
        lines.append(f"  ... and {len(view.files) - TOP_FILES} more on this page")
    more = None
    if view.next_offset is not None:
        more = [query.next("files", view.next_offset)]
    return answer(view, "\n".join(lines), next_calls=more)


def _patch_page(
    view: DiffView,
    query: _Query,
    files: list[FilePatch],
    offset: int,
    room: int,
    *,
    labelled: bool,
) -> CallToolResult:
    """A page of patch text; with several repositories each file says whose it is."""
    text = "".join(
        (f"# repository: {f.repository}\n" if labelled else "") + _ended(f.text)
        for f in files
    )
    if offset >= len(text) and text:
        return answer(
            view, f"offset {offset} is past the end ({len(text)} characters)."
        )

    # Pages end on whole lines, so every page is valid diff text.
    chunk = budget.head_that_fits(text[offset : offset + room], room)
    end = offset + len(chunk)
    view.offset, view.total = offset, len(text)
    view.next_offset = end if end < len(text) else None
    header = f"Patch characters {offset}-{end} of {len(text)}"
    if offset and not chunk.startswith(("diff --git", "# repository")):
        header += f", continuing {_file_at(text, offset)}"
    result = answer(
        view,
        header + ("." if view.next_offset else " (end)."),
        next_calls=[query.next("patch", end)] if view.next_offset else None,
    )
    result.content.append(TextContent(type="text", text=chunk or "(no changes)\n"))
    return result


def _file_at(text: str, offset: int) -> str:
    """The file whose diff is under way at `offset`."""
    start = text.rfind("diff --git a/", 0, offset)
    header = text[start : text.find("\n", start)]
    return header.split(" b/", 1)[-1] if start >= 0 else "the previous file"


def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


TOOLS = [ToolSpec(get_diff, "Get diff", READ)]
