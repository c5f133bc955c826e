"""The mutable records the emulator keeps per replica: chats, messages, repos."""

import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio

from .diffs import DiffStat, diff_stat, tree_diff
from .events import EventHub
from .seed import EnvironmentSeed, RepositorySeed

Json = dict[str, Any]

ACTIVE = "active"
SLEEPING = "sleeping"
ARCHIVED = "archived"
PREPARING = "preparing"
ERROR = "error"
DORMANT = frozenset({SLEEPING, ARCHIVED})

DEFAULT_CHAT_TITLE = "New chat"

_activity = itertools.count(1)


def next_activity() -> int:
    """Return a process-wide increasing number that orders chat activity."""
    return next(_activity)


@dataclass
class Message:
    """A user message waiting for, or being handled by, the simulated agent."""

    id: str
    text: str
    images: list[Json]
    queued_at: datetime
    plan_mode: bool = False
    goal_mode: bool = False
    fast_mode: bool = False
    model: str | None = None
    thinking_level: str | None = None
    announced: bool = False
    """True once `chat.turn.accepted` went out for it."""
    started: bool = False
    """True once it was answered `sent`: it runs now, though its worker may
    not have taken it off the deque yet, so the queue routes must skip it."""
    sender_user_id: str | None = None
    sender_email: str | None = None


@dataclass
class PendingPlan:
    """A plan the agent showed and waits to have approved (`awaitingInput`).

    It is data, not a paused task, so it outlives a sleep: after the wake the
    chat still waits for the reply.
    """

    request: Message
    """The message that asked for the plan."""
    question_id: str
    """The tool call id of the approval request, which the reply resolves."""
    started: float
    """Monotonic time the turn began, for the duration of its final result."""
    feedback: list[str] = field(default_factory=list[str])
    """The user's replies that asked for changes, oldest first."""


@dataclass
class Chat:
    """One conversation with one agent inside a workspace."""

    id: str
    provider: str
    title: str
    created_at: datetime
    updated_at: datetime
    parent_chat_id: str | None = None
    thread_id: str | None = None
    model: str | None = None
    processing: bool = False
    announced: bool = False
    """True once `chat.created` went out for it (chats made while asleep wait)."""
    client_request_id: str | None = None
    last_message_text: str | None = None
    queue: deque[Message] = field(default_factory=lambda: deque[Message]())
    current: Message | None = None
    activity: int = field(default_factory=next_activity)
    worker: anyio.CancelScope | None = None
    pending: PendingPlan | None = None
    """The plan waiting for the user's reply; the turn is not over meanwhile."""

    @property
    def awaiting_input(self) -> bool:
        """What the engine calls `awaitingInput`: the agent waits for a reply."""
        return self.pending is not None and not self.processing

    @property
    def busy(self) -> bool:
        """What the API calls `processing`: a turn is under way or messages wait.

        Reporting waiting messages too keeps a chat from looking idle in the
        gap between a message's acceptance and its turn (start hooks, a queue).
        A turn that waits for the user's reply to a plan is still under way.
        """
        return self.processing or bool(self.queue) or self.pending is not None

    def waiting(self) -> list[Message]:
        """Return the queue as the API shows it: messages no turn has taken."""
        return [message for message in self.queue if not message.started]

    def clear_waiting(self) -> bool:
        """Drop every waiting message; tell whether there was any."""
        return self._keep_waiting([])

    def drop_waiting(self, message_id: str) -> bool:
        """Drop one waiting message; False when no waiting message has that id."""
        waiting = self.waiting()
        kept = [message for message in waiting if message.id != message_id]
        return self._keep_waiting(kept) if len(kept) < len(waiting) else False

    def move_waiting(self, message_id: str, position: int) -> bool:
        """Move a waiting message to a 0-based position among the waiting ones.

        A position past the end means the end: the queue may have shrunk since
        the client read it. False when nothing moved or the id is not waiting.
        """
        waiting = self.waiting()
        index = next(
            (i for i, message in enumerate(waiting) if message.id == message_id),
            None,
        )
        if index is None:
            return False

        moved = waiting.pop(index)
        waiting.insert(min(position, len(waiting)), moved)
        return self._keep_waiting(waiting)

    def _keep_waiting(self, waiting: list[Message]) -> bool:
        """Replace the waiting messages; tell whether the queue changed."""
        before = [message.id for message in self.queue]
        taken = [message for message in self.queue if message.started]
        self.queue.clear()
        self.queue.extend(taken + waiting)
        return [message.id for message in self.queue] != before


@dataclass
class Worktree:
    """A repository checked out in a workspace, with the agent's edits."""

    repository: RepositorySeed
    branch: str
    files: dict[str, str]
    pr_urls: list[str] = field(default_factory=list[str])
    start_hooks_completed: bool = False
    preset_diff: str = ""
    """Changes the branch carried before any turn (the large replicas), as a diff."""
    preset_stat: DiffStat = DiffStat(0, 0)
    """The added/removed counts of `preset_diff`, counted once when it was built."""

    @property
    def short_name(self) -> str:
        """The repository name without its owner, e.g. `web`."""
        return self.repository.name.rsplit("/", 1)[-1]

    @property
    def path(self) -> str:
        """Where the engine checked the repository out."""
        return f"/workspace/{self.short_name}"

    def full_diff(self) -> str:
        """Return the unified diff of the branch against the default branch.

        Turns' edits follow the preset changes rather than being merged into
        them in path order: no preset path is a seeded file a turn can edit.
        """
        return self.preset_diff + tree_diff(self.repository.files, self.files)

    def stat(self) -> DiffStat:
        """Return the added/removed line counts of `full_diff()`."""
        edits = diff_stat(tree_diff(self.repository.files, self.files))
        preset = self.preset_stat
        return DiffStat(preset.added + edits.added, preset.removed + edits.removed)


@dataclass
class HistoryRecord:
    """One agent event in a workspace's history, tagged with its chat."""

    chat_id: str
    event: Json


@dataclass
class Sender:
    """Attribution of a user message, for `senders` in history responses."""

    chat_id: str
    user_id: str
    email: str
    recorded_at: datetime


@dataclass
class Replica:
    """A workspace: the API-side record plus the state of its simulated engine."""

    id: str
    organization: str
    name: str
    environment: EnvironmentSeed
    created_at: datetime
    created_order: int
    status: str
    worktrees: list[Worktree]
    coding_agent: str
    lifecycle_policy: str = "default"
    size: str = "small"
    model: str | None = None
    thinking_level: str | None = None
    config: Json = field(default_factory=dict[str, Any])
    webhook: Json | None = None
    source: str = "api"
    last_activity_at: datetime | None = None
    error_message: str | None = None
    chats: dict[str, Chat] = field(default_factory=dict[str, Chat])
    history: list[HistoryRecord] = field(default_factory=list[HistoryRecord])
    senders: list[Sender] = field(default_factory=list[Sender])
    warm_hook_logs: list[Json] = field(default_factory=list[Json])
    start_hook_logs: list[Json] = field(default_factory=list[Json])
    hooks_running: bool = False
    hooks_completed: bool = False
    waking: bool = False
    """True from an implicit wake until the engine is back."""
    ready: bool = False
    """True once the engine is up and the start hooks ran: turns may start."""
    idle_since: float = 0.0
    """Monotonic time of the last activity, for the idle timeout."""
    hub: EventHub = field(default_factory=EventHub)
    tasks: set[anyio.CancelScope] = field(default_factory=set[anyio.CancelScope])
    settled: anyio.Event = field(default_factory=anyio.Event)
    """Set when the first boot ends (active or error) or the replica is deleted."""

    def busy(self) -> bool:
        """Tell whether any chat runs a turn or has messages waiting.

        A chat that waits for the user's reply does no work, so it does not
        keep the workspace from going idle.
        """
        return any(chat.processing or chat.queue for chat in self.chats.values())

    def awaiting_input(self) -> bool:
        """Tell whether any chat waits for the user's reply to a plan."""
        return any(chat.pending is not None for chat in self.chats.values())

    def worktree(self, repository_name: str) -> Worktree | None:
        """Return the worktree of a repository, by full name."""
        return next(
            (w for w in self.worktrees if w.repository.name == repository_name),
            None,
        )
