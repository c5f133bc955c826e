"""The simulated coding agent: decide what a turn does from the message text.

A turn picks the repository and file that best match the words of the request,
changes that file (and adds a test or note file when asked to add or test
something), runs the repository's checks and, when asked, opens a pull request.
Everything is derived from the message and the workspace's files, so the same
request on the same files always produces the same diff.

In plan mode the turn stops at an approval request instead of changing files;
`is_approval` decides whether the user's reply approves the plan or asks for
changes, and `plan_turn` with `feedback` plans again or carries the plan out.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from .records import Worktree

ToolKind = Literal["read", "edit", "write", "shell"]

_STOPWORDS = frozenset(
    """
    a an and are as at be but by can could do does for from has have how i in into
    is it its let me make my no not of on or our please should so some than that
    the their them then there these this to up us we what when where which while
    with would you your also just more most need needs want like sure use using
    open pull request add adds test tests create new file files change changes
    """.split()
)
_PR_PATTERN = re.compile(r"pull[ -]request|merge request|\bprs?\b", re.IGNORECASE)
_ADD_PATTERN = re.compile(r"\b(add|adds|create|new|test|tests|document|docs)\b")
_NUMBER = re.compile(r"\b\d+\b")
_APPROVING = re.compile(
    r"\b(approved?|approves|yes|yep|yeah|ok|okay|proceed|lgtm|go ahead|go for it"
    r"|looks good|sounds good|ship it|do it)\b"
)
# A reply that approves with a reservation is feedback, not a go-ahead.
_OBJECTING = re.compile(
    r"\b(no|not|don't|don’t|dont|but|instead|except|rather|change|wait)\b"
)
_COMMENT_PREFIX = {
    ".py": "#",
    ".toml": "#",
    ".tf": "#",
    ".yml": "#",
    ".yaml": "#",
    ".ts": "//",
    ".tsx": "//",
    ".js": "//",
}
_CHECKS = {
    "web": ("npm test", "Test Files  4 passed (4)\n     Tests  19 passed (19)\n"),
    "api": ("pytest -q", "...                                      [100%]\n3 passed\n"),
    "docs": ("mkdocs build --strict", "INFO    -  Documentation built\n"),
    "infra": ("terraform validate", "Success! The configuration is valid.\n"),
}


@dataclass(frozen=True)
class Thought:
    """The agent reasons (thinking text)."""

    text: str


@dataclass(frozen=True)
class Said:
    """The agent writes text to the user."""

    text: str


@dataclass(frozen=True)
class ToolUse:
    """The agent calls a tool and gets `output` back."""

    call_id: str
    kind: ToolKind
    path: str | None = None
    command: str | None = None
    old: str | None = None
    new: str | None = None
    output: str = ""


@dataclass(frozen=True)
class AskApproval:
    """The agent shows its plan and waits until the user approves it."""

    call_id: str
    plan: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class PlanAnswer:
    """The user's reply to a plan: the result of the approval request."""

    call_id: str
    approved: bool
    reply: str

    @property
    def note(self) -> str:
        """The tool result text the agent gets back."""
        if self.approved:
            return f"The user approved the plan. Their reply: {self.reply}"
        return f"The user wants the plan changed. Their feedback: {self.reply}"


Step = Thought | Said | ToolUse | AskApproval | PlanAnswer


@dataclass(frozen=True)
class TurnScript:
    """What one turn does: the steps to narrate and the files it leaves behind."""

    steps: tuple[Step, ...]
    summary: str
    repository: str | None = None
    files: dict[str, str] = field(default_factory=dict[str, str])
    pr_url: str | None = None

    @property
    def question(self) -> AskApproval | None:
        """The approval request the turn stops at, or None when it runs to the end."""
        last = self.steps[-1] if self.steps else None
        return last if isinstance(last, AskApproval) else None

    def answering(self, answer: PlanAnswer) -> "TurnScript":
        """Return this script preceded by the user's answer to the last plan."""
        return replace(self, steps=(answer, *self.steps))


def keywords(text: str) -> list[str]:
    """Return the significant words of a request, in order, without repeats."""
    words = re.findall(r"[a-z][a-z0-9_]{2,}", text.lower())
    return list(dict.fromkeys(w for w in words if w not in _STOPWORDS))


def task_sentence(text: str) -> str:
    """Return the first sentence of the request on one line, at most 100 chars."""
    line = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
    return sentence if len(sentence) <= 100 else sentence[:97].rstrip() + "..."


def chat_title(text: str) -> str:
    """Derive a short chat title from the first message."""
    words = task_sentence(text).rstrip(".!?").split()[:6]
    title = " ".join(words) or "New chat"
    return title[:1].upper() + title[1:]


def is_approval(reply: str) -> bool:
    """Tell whether a reply to a plan approves it.

    It approves when it holds an approving phrase ("approve", "yes", "ok",
    "proceed", "lgtm", "go ahead", "looks good", "ship it", ...) and no word of
    reservation ("no", "not", "don't", "but", "instead", "change", ...).
    """
    text = reply.lower()
    return bool(_APPROVING.search(text)) and not _OBJECTING.search(text)


def _digest(*parts: str) -> int:
    joined = "\0".join(parts).encode()
    return int.from_bytes(hashlib.sha256(joined).digest()[:8], "big")


def _score(words: list[str], path: str, text: str) -> int:
    lowered_path = path.lower()
    lowered_text = text.lower()
    return sum(3 * (w in lowered_path) + min(lowered_text.count(w), 5) for w in words)


def _editable(path: str) -> bool:
    return not path.endswith(".json")


def choose_worktree(worktrees: list[Worktree], words: list[str]) -> Worktree:
    """Pick the repository the request is most about; the first one on ties."""

    def score(worktree: Worktree) -> int:
        named = 10 * (worktree.short_name in words)
        files = sum(_score(words, p, t) for p, t in worktree.files.items())
        return named + files

    return max(worktrees, key=score)


def choose_file(worktree: Worktree, words: list[str], text: str) -> str:
    """Pick the file to change; a hash of the request breaks ties stably."""
    paths = sorted(p for p in worktree.files if _editable(p))
    scores = {p: _score(words, p, worktree.files[p]) for p in paths}
    best = max(scores.values())
    if best == 0:
        code = [p for p in paths if not p.endswith(".md")] or paths
        return code[_digest(text) % len(code)]

    return next(p for p in paths if scores[p] == best)


def _slug(words: list[str], separator: str) -> str:
    return separator.join(words[:4]) or "change"


def _comment(path: str, sentence: str) -> str | None:
    for suffix, prefix in _COMMENT_PREFIX.items():
        if path.endswith(suffix):
            return f"{prefix} {sentence}"
    return None


def _best_line(
    lines: list[str], words: list[str], *, prefer_numbers: bool
) -> int | None:
    """Return the index of the line most about the request, or None."""

    def score(line: str) -> int:
        hits = sum(w in line.lower() for w in words)
        bonus = 2 if prefer_numbers and hits and _NUMBER.search(line) else 0
        return hits + bonus

    scores = [score(line) for line in lines]
    best = max(scores, default=0)
    return scores.index(best) if best > 0 else None


def _edit_lines(
    lines: list[str], words: list[str], text: str, path: str, numbers: list[str]
) -> None:
    """Change `lines` in place: bump a matching number or annotate a line."""
    match = _best_line(lines, words, prefer_numbers=bool(numbers))
    if match is not None and numbers:
        bumped = _NUMBER.sub(numbers[0], lines[match], count=1)
        if bumped != lines[match]:
            lines[match] = bumped
            return

    sentence = task_sentence(text)
    comment = _comment(path, sentence)
    if comment is None:
        lines.extend(["\n", "## Update\n", "\n", f"{sentence}\n"])
        return

    at = 0 if match is None else match
    anchor = lines[at].rstrip("\n") if lines else ""
    indent = anchor[: len(anchor) - len(anchor.lstrip())]
    lines.insert(at, f"{indent}{comment}\n")


def edit_file(
    old: str,
    words: list[str],
    text: str,
    path: str,
    numbers: list[str] | None = None,
) -> str:
    """Return `old` after the agent's change for this request.

    The first of `numbers` (by default the numbers in `text`) replaces the number
    in the line most about the request; without one a comment is added.
    """
    lines = old.splitlines(keepends=True)
    found = _NUMBER.findall(text) if numbers is None else numbers
    _edit_lines(lines, words, text, path, found)
    return "".join(lines)


def _new_file(worktree: Worktree, words: list[str], text: str) -> tuple[str, str]:
    sentence = task_sentence(text)
    short = worktree.short_name
    if short == "api":
        name = _slug(words, "_")
        body = (
            f'"""Regression test: {sentence}"""\n\n'
            "from fastapi.testclient import TestClient\n\n"
            "from app.main import app\n\n\n"
            f"def test_{name}():\n"
            "    client = TestClient(app)\n"
            '    assert client.get("/health").json() == {"status": "ok"}\n'
        )
        return f"tests/test_{name}.py", body
    if short == "web":
        name = _slug(words, "-")
        body = (
            'import { describe, expect, it } from "vitest";\n\n'
            f'describe("{sentence}", () => {{\n'
            '  it("keeps working", () => {\n'
            "    expect(true).toBe(true);\n"
            "  });\n"
            "});\n"
        )
        return f"src/__tests__/{name}.test.ts", body

    name = _slug(words, "-")
    return f"docs/{name}.md", f"# {chat_title(text)}\n\n{sentence}\n"


def _pull_request_url(worktree: Worktree, replica_name: str) -> str:
    number = 100 + _digest(worktree.repository.name, replica_name) % 900
    return f"{worktree.repository.url}/pull/{number}"


class _CallIds:
    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._count = 0

    def next(self) -> str:
        self._count += 1
        return f"toolu_{_digest(self._seed, str(self._count)) % 16**16:016x}"


@dataclass(frozen=True)
class _Task:
    """What the agent was asked: the request as first sent plus later feedback."""

    text: str
    feedback: tuple[str, ...]

    @property
    def everything(self) -> str:
        """The request and all feedback, for the words that steer the change."""
        return " ".join((self.text, *self.feedback))

    @property
    def numbers(self) -> list[str]:
        """Numbers asked for, the latest feedback first: it corrects the request."""
        return _NUMBER.findall(" ".join((*reversed(self.feedback), self.text)))


def plan_turn(
    worktrees: list[Worktree],
    replica_name: str,
    text: str,
    *,
    plan_mode: bool,
    turn_number: int,
    feedback: Sequence[str] = (),
) -> TurnScript:
    """Decide everything one turn does, without touching the worktrees.

    `feedback` holds the user's replies to earlier plans for this request: a
    plan-mode turn revises its plan after them, and the turn that carries out
    an approved plan follows them too.
    """
    task = _Task(text, tuple(feedback))
    words = keywords(task.everything)
    ids = _CallIds(f"{replica_name}\0{turn_number}\0{task.everything}")
    if not worktrees:
        reply = "This workspace has no repository, so there is nothing to change."
        return TurnScript(
            (Thought(f"The request: {task_sentence(text)}"), Said(reply)), reply
        )

    worktree = choose_worktree(worktrees, words)
    path = choose_file(worktree, words, task.everything)
    read = ToolUse(
        ids.next(), "read", path=f"{worktree.path}/{path}", output=worktree.files[path]
    )
    thought = _opening_thought(task, words, f"{worktree.repository.name}/{path}")
    if plan_mode:
        return _plan_script(thought, read, worktree, path, task, ids)

    return _change_script(thought, read, worktree, path, words, task, replica_name, ids)


def _opening_thought(task: _Task, words: list[str], location: str) -> Thought:
    if task.feedback:
        latest = task_sentence(task.feedback[-1]).rstrip(".!?")
        return Thought(f"The user asked for changes: {latest}. Looking at {location}.")

    topic = ", ".join(words[:5]) or "a small change"
    return Thought(
        f"The request is about {topic}. {location} looks like the place to start."
    )


def _plan_script(
    thought: Thought,
    read: ToolUse,
    worktree: Worktree,
    path: str,
    task: _Task,
    ids: _CallIds,
) -> TurnScript:
    check, _ = _CHECKS.get(worktree.short_name, ("make test", ""))
    steps = (
        f"Change `{path}` in {worktree.repository.name}.",
        "Add or update a test that covers the change.",
        f"Run `{check}` and fix anything it reports.",
    )
    revised = ""
    if task.feedback:
        revised = f"Revised after your feedback: {task_sentence(task.feedback[-1])}\n\n"
    numbered = "".join(f"{n}. {step}\n" for n, step in enumerate(steps, 1))
    plan = (
        f"Plan for: {task_sentence(task.text)}\n\n{revised}{numbered}\n"
        "Nothing has been changed yet. Approve the plan to carry it out, "
        "or reply with what to change."
    )
    return TurnScript((thought, read, AskApproval(ids.next(), plan, steps)), plan)


def _change_script(
    thought: Thought,
    read: ToolUse,
    worktree: Worktree,
    path: str,
    words: list[str],
    task: _Task,
    replica_name: str,
    ids: _CallIds,
) -> TurnScript:
    text = task.text
    old = worktree.files[path]
    new = edit_file(old, words, text, path, task.numbers)
    full = f"{worktree.path}/{path}"
    steps: list[Step] = [thought, read]
    steps.append(
        ToolUse(ids.next(), "edit", full, old=old, new=new, output=f"Updated {full}")
    )
    files = {path: new}

    if _ADD_PATTERN.search(task.everything.lower()):
        added_path, body = _new_file(worktree, words, text)
        added = f"{worktree.path}/{added_path}"
        steps.append(
            ToolUse(ids.next(), "write", added, new=body, output=f"Created {added}")
        )
        files[added_path] = body

    check, check_output = _CHECKS.get(worktree.short_name, ("make test", "ok\n"))
    steps.append(ToolUse(ids.next(), "shell", command=check, output=check_output))

    pr_url = None
    if _PR_PATTERN.search(task.everything):
        pr_url = worktree.pr_urls[0] if worktree.pr_urls else None
        pr_url = pr_url or _pull_request_url(worktree, replica_name)
        command = f"gh pr create --fill --head replicas/{replica_name}"
        steps.append(
            ToolUse(ids.next(), "shell", command=command, output=pr_url + "\n")
        )

    summary = _summary(worktree, list(files), check, pr_url)
    steps.append(Said(summary))
    return TurnScript(tuple(steps), summary, worktree.repository.name, files, pr_url)


def _summary(
    worktree: Worktree, paths: list[str], check: str, pr_url: str | None
) -> str:
    changed = ", ".join(f"`{p}`" for p in paths)
    text = f"Done: updated {changed} in {worktree.repository.name}; `{check}` passes."
    if pr_url is not None:
        text += f" Pull request: {pr_url}"
    return text
