"""Unified diffs in the form `git diff` prints them, with line counts."""

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

_FILE_MODE = "100644"


@dataclass(frozen=True)
class DiffStat:
    """Added and removed line counts of a diff."""

    added: int
    removed: int


def blob_id(text: str) -> str:
    """Return the git blob id of `text`, abbreviated to 7 digits like `git diff`."""
    data = text.encode()
    header = f"blob {len(data)}\0".encode()
    return hashlib.sha1(header + data).hexdigest()[:7]


def file_diff(path: str, old: str | None, new: str) -> str:
    """Return the git-style diff of one file; `old` is None for a new file.

    Both texts must end with a newline: the simulated agent only writes such
    files, so the `\\ No newline at end of file` marker is never needed.
    """
    if old is not None and not old.endswith("\n"):
        raise ValueError(f"{path}: old text must end with a newline")
    if not new.endswith("\n"):
        raise ValueError(f"{path}: new text must end with a newline")

    header = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        header.append(f"new file mode {_FILE_MODE}\n")
        header.append(f"index 0000000..{blob_id(new)}\n")
    else:
        header.append(f"index {blob_id(old)}..{blob_id(new)} {_FILE_MODE}\n")

    hunks = difflib.unified_diff(
        [] if old is None else old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(header) + "".join(hunks)


def tree_diff(base: Mapping[str, str], current: Mapping[str, str]) -> str:
    """Return the diff from `base` to `current` (path → text), files sorted by path.

    Files missing from `current` are not reported: the agent never deletes.
    """
    parts = [
        file_diff(path, base.get(path), text)
        for path, text in sorted(current.items())
        if base.get(path) != text
    ]
    return "".join(parts)


def diff_stat(diff: str) -> DiffStat:
    """Count added and removed lines, reading only inside hunks."""
    added = removed = 0
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            in_hunk = False
        elif line.startswith("@@ "):
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            added += 1
        elif in_hunk and line.startswith("-"):
            removed += 1

    return DiffStat(added, removed)
