"""Split unified diffs into per-file sections, to summarise and page big ones."""

import fnmatch
import re
from dataclasses import dataclass

_HEADER = re.compile(r"^diff --git a/(?P<old>.+?) b/(?P<new>.+)$")


@dataclass(frozen=True)
class FilePatch:
    """The part of a unified diff that touches one file."""

    repository: str
    path: str
    status: str
    added: int
    removed: int
    text: str


def split(repository: str, diff: str) -> list[FilePatch]:
    """Cut a `git diff` into one section per file, with line counts."""
    starts = [m.start() for m in re.finditer(r"^diff --git ", diff, re.MULTILINE)]
    if not starts:
        return []

    bounds = zip(starts, [*starts[1:], len(diff)], strict=True)
    return [_file_patch(repository, diff[start:end]) for start, end in bounds]


def matching(patches: list[FilePatch], pattern: str | None) -> list[FilePatch]:
    """Keep files whose path matches a glob (`src/*.ts`) or contains the text."""
    if not pattern:
        return patches

    if any(char in pattern for char in "*?["):
        return [p for p in patches if fnmatch.fnmatchcase(p.path, pattern)]

    return [p for p in patches if pattern in p.path]


def _file_patch(repository: str, text: str) -> FilePatch:
    header, _, body = text.partition("\n")
    match = _HEADER.match(header)
    path = match["new"] if match else header.removeprefix("diff --git ")
    added = removed = 0
    in_hunk = False
    for line in body.split("\n"):
        if line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            added += 1
        elif in_hunk and line.startswith("-"):
            removed += 1

    return FilePatch(repository, path, _status(body), added, removed, text)


def _status(body: str) -> str:
    head = body[:500]
    if "\nnew file mode" in f"\n{head}":
        return "added"
    if "\ndeleted file mode" in f"\n{head}":
        return "deleted"
    if "\nrename from" in f"\n{head}":
        return "renamed"

    return "modified"
