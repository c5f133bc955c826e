"""What tools return: compact views of API objects, and a text summary beside them.

A tool answer has two parts. The structured part follows the tool's output
schema; the text part is a few lines written for a model (what this is, what
was left out, what to call next), never the same JSON again.
"""

from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict

from ..models import Chat, Replica, ReplicaDetails, RepositoryStatus


class Part(BaseModel):
    """Base of every piece of a tool's structured output.

    Validators are built on first use, not at import: a host starts the
    server for each conversation and waits for `tools/list`, which needs
    only the fields (see `schemas.outline_of`).
    """

    model_config = ConfigDict(defer_build=True)


class View(Part):
    """Base of every tool's structured output."""


def answer(view: View, summary: str, *, next_calls: list[str] | None = None) -> Any:
    """Build the tool result: the view as structured content, the summary as text."""
    text = summary
    if next_calls:
        text = f"{text}\nNext: " + "; ".join(next_calls[:3])

    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=view.model_dump(mode="json", exclude_none=True),
    )


def call(tool: str, **arguments: object) -> str:
    """A suggested call as text; unset (None) arguments are left out."""
    given = ", ".join(f"{k}={v!r}" for k, v in arguments.items() if v is not None)
    return f"{tool}({given})"


class ChatView(Part):
    id: str
    agent: str
    title: str
    processing: bool
    updated_at: str


class RepoView(Part):
    repository: str
    branch: str
    added: int | None = None
    removed: int | None = None
    pr_urls: list[str] = []
    setup_done: bool
    diff: str | None = None


class ReplicaSummary(View):
    id: str
    name: str
    status: str
    created_at: str
    last_activity_at: str | None = None
    repositories: list[str]
    pull_requests: list[str]


class ReplicaView(ReplicaSummary):
    state: str | None = None
    state_detail: str | None = None
    agent: str | None = None
    waking: bool | None = None
    chats: list[ChatView] | None = None
    more_chats: int | None = None
    repos: list[RepoView] | None = None
    environment: dict[str, Any] | None = None


def replica_summary(replica: Replica) -> ReplicaSummary:
    return ReplicaSummary(
        id=replica.id,
        name=replica.name,
        status=replica.status,
        created_at=_time(replica.created_at),
        last_activity_at=_time(replica.last_activity_at),
        repositories=[repo.name for repo in replica.repositories],
        pull_requests=[pr.url for pr in replica.pull_requests],
    )


# A replica's view lists this many chats, most recently active first.
CHATS_SHOWN = 20


def replica_view(details: ReplicaDetails) -> ReplicaView:
    summary = replica_summary(details)
    chats = None
    if details.chats is not None:
        chats = [chat_view(c) for c in newest_first(details.chats)]
    repos = None
    if details.repository_statuses is not None:
        repos = [repo_view(status) for status in details.repository_statuses]

    more_chats = len(chats) - CHATS_SHOWN if chats else 0
    return ReplicaView(
        **summary.model_dump(),
        agent=details.coding_agent,
        waking=details.waking or None,
        chats=chats[:CHATS_SHOWN] if chats else chats,
        more_chats=more_chats if more_chats > 0 else None,
        repos=repos,
        environment=details.environment,
    )


def newest_first(chats: list[Chat]) -> list[Chat]:
    """Busy chats first, then by last activity."""
    return sorted(chats, key=lambda c: (c.processing, c.updated_at), reverse=True)


def chat_view(chat: Chat) -> ChatView:
    return ChatView(
        id=chat.id,
        agent=chat.provider,
        title=chat.title,
        processing=chat.processing,
        updated_at=_time(chat.updated_at),
    )


def repo_view(status: RepositoryStatus) -> RepoView:
    diff = status.git_diff
    return RepoView(
        repository=status.repository,
        branch=status.branch,
        added=diff.added if diff else None,
        removed=diff.removed if diff else None,
        pr_urls=status.pr_urls,
        setup_done=status.start_hooks_completed,
    )


def describe_replica(view: ReplicaSummary) -> str:
    """One line: name, id, status, repositories, PRs."""
    repos = ", ".join(view.repositories) or "no repository"
    line = f"{view.name} ({view.id}): {view.status}, {repos}"
    if view.pull_requests:
        line = f"{line}, PR {' '.join(view.pull_requests)}"

    return line


def describe_details(view: ReplicaView) -> str:
    """A few lines on what the replica is doing and what it changed."""
    lines = [describe_replica(view)]
    if view.state:
        lines.append(f"State: {view.state} ({view.state_detail}).")
    if view.waking:
        lines.append("Waking up: live details come back in 30-90 s.")

    for chat in view.chats or []:
        state = "working" if chat.processing else "idle"
        lines.append(f"chat {chat.id} ({chat.agent}, {state}): {chat.title[:80]}")
    if view.more_chats:
        lines.append(f"... {view.more_chats} older chats: list_chats shows them all")

    for repo in view.repos or []:
        change = (
            f"+{repo.added} -{repo.removed}" if repo.added is not None else "no diff"
        )
        setup = "" if repo.setup_done else ", setup running"
        lines.append(f"{repo.repository} on {repo.branch}: {change}{setup}")

    return "\n".join(lines)


def is_working(view: ReplicaView) -> bool:
    return view.status == "preparing" or any(c.processing for c in view.chats or [])


def _time(moment: Any) -> Any:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
