"""The emulator's store and its workspace state machine (§10).

All mutations happen on the event loop, so no locks are needed: a handler that
does not await sees and leaves a consistent state. Timers (boot, wake, idle) and
agent turns run as background tasks in the app's lifespan task group, each in
its own cancel scope so that sleep, delete and chat deletion can stop them.

A plan-mode turn stops at an approval request and leaves a `PendingPlan` on its
chat; the chat's next message is the reply, which resumes the same turn.
"""

import itertools
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .agent import PlanAnswer, TurnScript, chat_title, is_approval, plan_turn
from .clock import format_timestamp, parse_timestamp, utc_now
from .config import EmulatorConfig
from .errors import ApiError, bad_request, conflict, not_found
from .faults import FaultInjector
from .hooks import (
    environment_start_log,
    repository_start_log,
    warm_hook_logs,
    with_failing_start_hook,
)
from .large import build_large_replicas
from .records import (
    ACTIVE,
    ARCHIVED,
    DEFAULT_CHAT_TITLE,
    DORMANT,
    ERROR,
    PREPARING,
    SLEEPING,
    Chat,
    HistoryRecord,
    Message,
    PendingPlan,
    Replica,
    Sender,
    Worktree,
    next_activity,
)
from .seed import (
    EnvironmentSeed,
    OrganizationSeed,
    RepositorySeed,
    build_organization,
    environment_repositories,
)
from .transcripts import RawEvent, Renderer, renderer_for
from .validation import ChatInput, CreateInput, MessageInput, SendInput
from .views import engine_chat, engine_repo

logger = logging.getLogger(__name__)

Json = dict[str, Any]

ENGINE_PROTOCOL = "v1"
DEFAULT_MODELS = {
    "claude": "sonnet",
    "codex": "gpt-5-codex",
    "cursor": "auto",
    "opencode": "z-ai/glm-5.2",
    "pi": "moonshotai/kimi-k2.6",
}


def _new_id() -> str:
    return str(uuid.uuid4())


class EmulatorState:
    """Organisations, their replicas, and everything the engines are doing."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.organizations: dict[str, OrganizationSeed] = {
            name: build_organization(name) for name in config.organizations
        }
        self._replicas: dict[str, Replica] = {}
        self._order = itertools.count()
        self._group: TaskGroup | None = None
        self.faults = FaultInjector(config.faults, seed=config.fault_seed)
        """The fault rules in force; tests change them at runtime."""
        if config.large_replicas:
            self._seed_large_replicas()

    def _seed_large_replicas(self) -> None:
        """Add every organisation's idle `large-*` replicas (see `large.py`)."""
        for org in self.organizations.values():
            for replica in build_large_replicas(org, self._order):
                self._replicas[replica.id] = replica

    @asynccontextmanager
    async def running(self) -> AsyncGenerator[None, None]:
        """Run the background tasks for as long as the context is open."""
        async with anyio.create_task_group() as group:
            self._group = group
            # Replicas seeded active start their idle clock with the server.
            for replica in list(self._replicas.values()):
                if replica.status == ACTIVE:
                    replica.idle_since = time.monotonic()
                    self._spawn(replica, self._watch_idle, replica)
            try:
                yield
            finally:
                self._group = None
                self.close_all_streams()
                group.cancel_scope.cancel()

    # Lookups

    def organization_for_key(self, api_key: str) -> OrganizationSeed | None:
        """Return the organisation an API key belongs to."""
        name = self.config.api_keys.get(api_key)
        return None if name is None else self.organizations[name]

    def replica(self, organization: str, replica_id: str) -> Replica:
        """Return a replica of `organization`; other orgs' replicas are 404 (A19)."""
        replica = self._replicas.get(replica_id.lower())
        if replica is None or replica.organization != organization:
            raise ApiError(404, "Workspace not found", f"No workspace {replica_id}")
        return replica

    def find(self, replica_id: str) -> Replica:
        """Return any replica by id, whatever its organisation (for tests)."""
        return self._replicas[replica_id]

    def replicas(self, organization: str) -> list[Replica]:
        """Return the organisation's replicas, newest first."""
        owned = [r for r in self._replicas.values() if r.organization == organization]
        return sorted(owned, key=lambda r: r.created_order, reverse=True)

    def open_streams(self, replica_id: str) -> int:
        """Count the event streams open on a replica (0 once it is gone)."""
        replica = self._replicas.get(replica_id)
        return 0 if replica is None else replica.hub.subscriber_count

    def drop_streams(self, replica_id: str) -> int:
        """Cut a replica's open event streams and return how many there were.

        Only the connections go: the engine keeps running, turns go on, and
        what it emits until a client reconnects is not replayed (A20).
        """
        replica = self._replicas.get(replica_id)
        return 0 if replica is None else replica.hub.close_all()

    def chats_awaiting_input(self, replica_id: str) -> list[str]:
        """Return the ids of a replica's chats that wait for the user's reply."""
        replica = self._replicas[replica_id]
        return [chat.id for chat in replica.chats.values() if chat.awaiting_input]

    def close_all_streams(self) -> None:
        """End every open event stream, e.g. before the server shuts down."""
        for replica in self._replicas.values():
            replica.hub.close_all()

    # Creating replicas

    def create_replica(self, organization: str, request: CreateInput) -> Replica:
        """Create a replica in `preparing` with its first message waiting."""
        org = self.organizations[organization]
        environment = self._resolve_environment(org, request)
        self._check_capacity(organization)

        now = utc_now()
        worktrees = [
            Worktree(
                self._configured(repo),
                branch=f"replicas/{request.name}",
                files=dict(repo.files),
            )
            for repo in environment_repositories(org, environment)
        ]
        replica = Replica(
            id=_new_id(),
            organization=organization,
            name=request.name,
            environment=environment,
            created_at=now,
            created_order=next(self._order),
            status=PREPARING,
            worktrees=worktrees,
            coding_agent=request.coding_agent,
            lifecycle_policy=request.lifecycle_policy,
            size=request.size,
            model=request.message.model,
            thinking_level=request.message.thinking_level,
            config=request.config,
            webhook=request.webhook,
            warm_hook_logs=warm_hook_logs(worktrees, now),
            idle_since=time.monotonic(),
        )

        chat = self._new_chat(replica, request.coding_agent)
        chat.queue.append(_message(request.message))
        self._replicas[replica.id] = replica
        self._spawn(replica, self._boot, replica, self.config.boot_delay)
        logger.info("Created replica %s (%s)", replica.id, replica.name)
        return replica

    def _configured(self, repo: RepositorySeed) -> RepositorySeed:
        """Apply `failing_start_hooks` to a repository checked out in a replica."""
        failing = self.config.failing_start_hooks
        short_name = repo.name.rsplit("/", 1)[-1]
        if repo.name in failing or short_name in failing:
            return with_failing_start_hook(repo)
        return repo

    def _resolve_environment(
        self, org: OrganizationSeed, request: CreateInput
    ) -> EnvironmentSeed:
        if request.environment_id is not None:
            env = org.environments.get(request.environment_id)
            if env is None:
                raise not_found("Environment", request.environment_id)
            if env.is_global:
                raise bad_request(
                    "environment_id names the global environment",
                    "The organization-wide layer cannot host a workspace; "
                    "pick an environment bound to a repository or a set",
                )
            return env

        if request.repository_set_id is not None:
            return self._environment_for_set(org, request.repository_set_id)

        return self._environment_for_repositories(org, request.repository_ids or [])

    def _environment_for_set(
        self, org: OrganizationSeed, set_id: str
    ) -> EnvironmentSeed:
        if set_id not in org.repository_sets:
            raise not_found("Repository set", set_id)

        for env in org.environments.values():
            if env.repository_set_id == set_id:
                return env

        raise not_found("Environment", f"bound to repository set {set_id}")

    def _environment_for_repositories(
        self, org: OrganizationSeed, repository_ids: list[str]
    ) -> EnvironmentSeed:
        for repo_id in repository_ids:
            if repo_id not in org.repositories:
                raise not_found("Repository", repo_id)

        # The service maps the deprecated list to one environment: the first match.
        for repo_id in repository_ids:
            for env in org.environments.values():
                if env.repository_id == repo_id:
                    return env

        raise not_found("Environment", f"bound to repository {repository_ids[0]}")

    def _check_capacity(self, organization: str) -> None:
        limit = self.config.max_active
        if limit is None:
            return

        running = [
            r for r in self.replicas(organization) if r.status in (ACTIVE, PREPARING)
        ]
        if len(running) >= limit:
            raise ApiError(
                self.config.max_active_status,
                "Too many active workspaces",
                f"This organization may run at most {limit} active workspaces; "
                "delete or wait for one to go to sleep",
            )

    async def wait_until_settled(self, replica: Replica) -> None:
        """Wait until the first boot is over (legacy create, A2)."""
        await replica.settled.wait()

    # Lifecycle

    def wake(self, replica: Replica) -> str | None:
        """Start waking a sleeping/archived replica; return its previous status."""
        if replica.status not in DORMANT:
            return None

        previous = replica.status
        replica.status = PREPARING
        replica.waking = True
        self._spawn(replica, self._boot, replica, self.config.wake_delay)
        logger.info("Waking replica %s", replica.id)
        return previous

    def sleep(self, replica: Replica) -> bool:
        """Put a replica to sleep; False when it already was asleep or archived."""
        if replica.status in (PREPARING, ERROR):
            raise conflict(
                f"Workspace is {replica.status}",
                "Only an active workspace can be put to sleep",
            )
        if replica.status in DORMANT:
            return False

        self._go_dormant(replica, SLEEPING)
        return True

    def archive(self, replica: Replica) -> bool:
        """Archive a replica; False when it already was archived."""
        if replica.status == ERROR:
            raise conflict("Workspace is in error", "An errored workspace stays put")
        if replica.status == ARCHIVED:
            return False

        self._go_dormant(replica, ARCHIVED)
        return True

    def fail(self, replica: Replica, message: str) -> None:
        """Simulate a failed setup or wake: the replica sits in `error`."""
        self._stop_engine(replica)
        replica.status = ERROR
        replica.error_message = message
        replica.config["provisioning_error"] = {"message": message}
        replica.settled.set()

    def delete(self, replica: Replica) -> None:
        """Delete a replica for good; every later call about it is 404."""
        self._stop_engine(replica)
        self._replicas.pop(replica.id, None)
        replica.settled.set()
        logger.info("Deleted replica %s", replica.id)

    def _go_dormant(self, replica: Replica, status: str) -> None:
        self._stop_engine(replica)
        replica.status = status
        logger.info("Replica %s is now %s", replica.id, status)

    def _stop_engine(self, replica: Replica) -> None:
        replica.ready = False
        replica.waking = False
        replica.hooks_running = False
        for chat in replica.chats.values():
            chat.processing = False
            chat.current = None
            chat.worker = None
            # A `sent` message its worker never took waits for the wake again.
            for message in chat.queue:
                message.started = False
        for scope in list(replica.tasks):
            scope.cancel()
        replica.hub.close_all()

    def _spawn(
        self,
        replica: Replica,
        func: Callable[..., Awaitable[None]],
        *args: Any,
    ) -> anyio.CancelScope:
        if self._group is None:
            raise RuntimeError(
                "The emulator's background tasks are not running; serve the app "
                "with its lifespan (EmulatorServer does) before creating replicas"
            )

        scope = anyio.CancelScope()
        replica.tasks.add(scope)

        async def run() -> None:
            try:
                with scope:
                    await func(*args)
            # A fault in one workspace's simulation must not stop the emulator.
            except Exception:
                logger.exception("Emulator task failed for replica %s", replica.id)
            finally:
                replica.tasks.discard(scope)

        self._group.start_soon(run)
        return scope

    async def _boot(self, replica: Replica, delay: float) -> None:
        await anyio.sleep(delay)
        replica.status = ACTIVE
        replica.waking = False
        replica.idle_since = time.monotonic()
        replica.settled.set()
        replica.hub.publish("engine.ready", {"version": ENGINE_PROTOCOL})
        self._spawn(replica, self._watch_idle, replica)

        await self._run_start_hooks(replica)
        replica.ready = True
        for chat in replica.chats.values():
            self._announce_chat(replica, chat)
        for chat in list(replica.chats.values()):
            self._ensure_worker(replica, chat)

    async def _run_start_hooks(self, replica: Replica) -> None:
        hub = replica.hub
        replica.hooks_running = True
        replica.hooks_completed = False
        for worktree in replica.worktrees:
            worktree.start_hooks_completed = False

        await anyio.sleep(self.config.turn_step_delay)
        hub.publish("repo.discovered", {"repos": _repos(replica)})
        hub.publish("hooks.started", {"running": True, "completed": False})
        logs = [environment_start_log(utc_now())]
        for worktree in replica.worktrees:
            await anyio.sleep(self.config.turn_step_delay)
            logs.append(repository_start_log(worktree, utc_now()))
            worktree.start_hooks_completed = True
            hub.publish("hooks.progress", {"running": True, "completed": False})

        replica.start_hook_logs = logs
        replica.hooks_running = False
        replica.hooks_completed = True
        # A failed hook still ends the hook run; the agent starts all the same.
        failed = any(log["exitCode"] != 0 for log in logs)
        outcome = "hooks.failed" if failed else "hooks.completed"
        hub.publish(outcome, {"running": False, "completed": True})
        hub.publish("repo.status.changed", {"repos": _repos(replica)})

    async def _watch_idle(self, replica: Replica) -> None:
        timeout = self.config.idle_timeout
        while True:
            remaining = replica.idle_since + timeout - time.monotonic()
            if remaining > 0:
                await anyio.sleep(remaining)
            elif replica.busy() or replica.hooks_running:
                await anyio.sleep(max(timeout, 0.05))
            else:
                break

        if replica.lifecycle_policy == "delete_after_inactivity":
            self.delete(replica)
        else:
            self._go_dormant(replica, SLEEPING)

    def _touch(self, replica: Replica) -> None:
        replica.last_activity_at = utc_now()
        replica.idle_since = time.monotonic()

    # Chats and messages

    def default_chat(self, replica: Replica, agent: str) -> Chat | None:
        """Return the most recently active chat of `agent` (A12)."""
        matching = [c for c in replica.chats.values() if c.provider == agent]
        return max(matching, key=lambda c: c.activity, default=None)

    def create_chat(self, replica: Replica, request: ChatInput) -> Chat:
        """Create a chat from a validated `POST .../chats` body."""
        if replica.status == ERROR:
            raise conflict("Workspace is in error", "Chats cannot be added now")
        if request.chat_id is not None and request.chat_id in replica.chats:
            raise bad_request("A chat with this id already exists", request.chat_id)
        if (
            request.parent_chat_id is not None
            and request.parent_chat_id not in replica.chats
        ):
            raise not_found("Chat", request.parent_chat_id)

        created_at = None
        if request.created_at is not None:
            created_at = parse_timestamp(request.created_at)
            if created_at is None:
                raise bad_request("createdAt must be an ISO 8601 date-time")

        return self._new_chat(
            replica,
            request.provider,
            title=request.title,
            chat_id=request.chat_id,
            created_at=created_at,
            parent_chat_id=request.parent_chat_id,
            client_request_id=request.client_request_id,
        )

    def delete_chat(self, replica: Replica, chat_id: str) -> None:
        """Delete a chat, stopping its turn and dropping its queue and history."""
        chat = replica.chats.pop(chat_id, None)
        if chat is None:
            raise not_found("Chat", chat_id)

        if chat.worker is not None:
            chat.worker.cancel()
        chat.queue.clear()
        replica.history = [r for r in replica.history if r.chat_id != chat_id]
        replica.senders = [s for s in replica.senders if s.chat_id != chat_id]
        if replica.status == ACTIVE:
            replica.hub.publish("chat.deleted", {"chatId": chat_id})

    def send_message(self, replica: Replica, request: SendInput) -> Json:
        """Deliver, queue or park a message; return the §5.7 response body.

        A chat that waits for the reply to a plan takes the message as that
        reply at once (`sent`), not behind the waiting turn.
        """
        if replica.status == ERROR:
            raise conflict("Workspace is in error state", replica.error_message)

        chat = self._target_chat(replica, request)
        message = _message(request.message)
        message.sender_user_id = request.sender_user_id
        message.sender_email = request.sender_email
        self._record_sender(replica, chat, request)
        chat.activity = next_activity()
        replica.coding_agent = chat.provider
        replica.idle_since = time.monotonic()
        chat.queue.append(message)

        if self.wake(replica) is not None:
            return _receipt("waking", None, None, request.chat_id)

        if replica.ready and not chat.processing and len(chat.queue) == 1:
            message.started = True
            self._announce_turn(replica, chat, message, queued=False, position=0)
            self._ensure_worker(replica, chat)
            return _receipt("sent", message.id, None, chat.id)

        position = len(chat.waiting())
        if replica.status == ACTIVE:
            self._announce_turn(replica, chat, message, queued=True, position=position)
        return _receipt("queued", message.id, position, chat.id)

    # The chat queue (§5.12)

    def chat(self, replica: Replica, chat_id: str) -> Chat:
        """Return a chat of a replica, in whatever state the replica is."""
        chat = replica.chats.get(chat_id)
        if chat is None:
            raise not_found("Chat", chat_id)
        return chat

    def edit_queue(
        self, replica: Replica, chat: Chat, edit: Callable[[], bool]
    ) -> bool:
        """Apply a queue edit and return whether it changed the queue.

        Only waiting messages are touched; the running turn goes on. Emptying
        the queue can leave the chat idle, which watchers must hear about.
        """
        was_busy = chat.busy
        changed = edit()
        if changed and chat.busy != was_busy and _known_to_streams(replica, chat):
            replica.hub.publish("chat.updated", {"chat": engine_chat(chat)})
        return changed

    def _target_chat(self, replica: Replica, request: SendInput) -> Chat:
        if request.chat_id is not None:
            return self.chat(replica, request.chat_id)

        agent = request.coding_agent or replica.coding_agent
        chat = self.default_chat(replica, agent)
        return chat or self._new_chat(replica, agent)

    def _record_sender(self, replica: Replica, chat: Chat, request: SendInput) -> None:
        if request.sender_user_id is None or request.sender_email is None:
            return
        sender = Sender(
            chat.id, request.sender_user_id, request.sender_email, utc_now()
        )
        replica.senders.append(sender)

    def _new_chat(
        self,
        replica: Replica,
        provider: str,
        *,
        title: str | None = None,
        chat_id: str | None = None,
        created_at: datetime | None = None,
        parent_chat_id: str | None = None,
        client_request_id: str | None = None,
    ) -> Chat:
        moment = created_at or utc_now()
        chat = Chat(
            id=chat_id or _new_id(),
            provider=provider,
            title=title or DEFAULT_CHAT_TITLE,
            created_at=moment,
            updated_at=moment,
            parent_chat_id=parent_chat_id,
            client_request_id=client_request_id,
        )
        replica.chats[chat.id] = chat
        if replica.status == ACTIVE:
            self._announce_chat(replica, chat)
        return chat

    def _announce_chat(self, replica: Replica, chat: Chat) -> None:
        if chat.announced:
            return

        chat.announced = True
        payload: Json = {"chat": engine_chat(chat)}
        if chat.client_request_id is not None:
            payload["clientRequestId"] = chat.client_request_id
        replica.hub.publish("chat.created", payload)

    def _announce_turn(
        self,
        replica: Replica,
        chat: Chat,
        message: Message,
        *,
        queued: bool,
        position: int,
    ) -> None:
        message.announced = True
        payload = {
            "chatId": chat.id,
            "messageId": message.id,
            "queued": queued,
            "position": position,
        }
        replica.hub.publish("chat.turn.accepted", payload)

    # Turns

    def _ensure_worker(self, replica: Replica, chat: Chat) -> None:
        if chat.worker is None and chat.queue and replica.ready:
            chat.worker = self._spawn(replica, self._drain, replica, chat)

    async def _drain(self, replica: Replica, chat: Chat) -> None:
        own_scope = chat.worker
        try:
            while chat.queue and replica.ready and chat.id in replica.chats:
                message = chat.queue.popleft()
                await self._run_turn(replica, chat, message)
        finally:
            # A worker cancelled by a sleep must not forget its successor.
            if chat.worker is own_scope:
                chat.worker = None

        self._after_turns(replica)

    async def _run_turn(self, replica: Replica, chat: Chat, message: Message) -> None:
        if not message.announced:
            self._announce_turn(replica, chat, message, queued=False, position=0)

        pending = chat.pending
        if pending is not None:
            await self._take_reply(replica, chat, pending, message)
            return

        self._start_turn(replica, chat, message)
        await self._carry(replica, chat, self._narrate(replica, chat, message))

    async def _carry(
        self, replica: Replica, chat: Chat, narration: Awaitable[None]
    ) -> None:
        """Narrate a turn, then end it, or wait when it stopped to ask the user."""
        completed = False
        try:
            await narration
            completed = True
        finally:
            if completed and chat.pending is not None:
                self._wait_for_reply(replica, chat)
            else:
                self._end_turn(replica, chat, completed)

    def _start_turn(self, replica: Replica, chat: Chat, message: Message) -> None:
        chat.processing = True
        chat.current = message
        chat.updated_at = utc_now()
        chat.last_message_text = message.text
        chat.model = message.model or chat.model
        chat.thread_id = chat.thread_id or _new_id()
        if chat.title == DEFAULT_CHAT_TITLE:
            chat.title = chat_title(message.text)

        self._touch(replica)
        replica.hub.publish("chat.updated", {"chat": engine_chat(chat)})
        payload = {"chatId": chat.id, "messageId": message.id}
        replica.hub.publish("chat.turn.started", payload)

    def _wait_for_reply(self, replica: Replica, chat: Chat) -> None:
        # The turn goes on (processing stays true) but the agent does nothing:
        # the idle timer runs from here.
        chat.processing = False
        chat.current = None
        chat.updated_at = utc_now()
        self._touch(replica)
        replica.hub.publish("chat.updated", {"chat": engine_chat(chat)})

    def _end_turn(self, replica: Replica, chat: Chat, completed: bool) -> None:
        chat.processing = False
        chat.current = None
        chat.updated_at = utc_now()
        self._touch(replica)
        # After a sleep, delete or chat deletion nobody is left to tell.
        if replica.status != ACTIVE or chat.id not in replica.chats:
            return

        payload = {"chatId": chat.id, "isComplete": completed}
        replica.hub.publish("chat.turn.completed", payload)
        replica.hub.publish("chat.updated", {"chat": engine_chat(chat)})

    async def _narrate(self, replica: Replica, chat: Chat, message: Message) -> None:
        script = plan_turn(
            replica.worktrees,
            replica.name,
            message.text,
            plan_mode=message.plan_mode,
            turn_number=len(replica.history),
        )
        started = time.monotonic()

        renderer = self._renderer(replica, chat)
        self._emit(replica, chat, renderer.user(message.text, message.images))
        await self._perform(replica, chat, renderer, script, started)
        if script.question is not None:
            chat.pending = PendingPlan(message, script.question.call_id, started)

    async def _take_reply(
        self, replica: Replica, chat: Chat, pending: PendingPlan, reply: Message
    ) -> None:
        """Resume the waiting turn with the user's reply to its plan.

        Once taken, the reply is the turn's: an interruption now loses both,
        like any running turn.
        """
        chat.pending = None
        chat.processing = True
        chat.current = reply
        chat.updated_at = utc_now()
        chat.last_message_text = reply.text
        self._touch(replica)
        replica.hub.publish("chat.updated", {"chat": engine_chat(chat)})

        narration = self._follow_reply(replica, chat, pending, reply.text)
        await self._carry(replica, chat, narration)

    async def _follow_reply(
        self, replica: Replica, chat: Chat, pending: PendingPlan, reply: str
    ) -> None:
        """Carry out an approved plan, or plan again after feedback and wait."""
        approved = is_approval(reply)
        feedback = pending.feedback if approved else [*pending.feedback, reply]
        request = pending.request
        script = plan_turn(
            replica.worktrees,
            replica.name,
            request.text,
            plan_mode=not approved,
            turn_number=len(replica.history),
            feedback=feedback,
        )
        script = script.answering(PlanAnswer(pending.question_id, approved, reply))

        renderer = self._renderer(replica, chat)
        await self._perform(replica, chat, renderer, script, pending.started)
        if script.question is not None:
            question_id = script.question.call_id
            chat.pending = PendingPlan(request, question_id, pending.started, feedback)

    def _renderer(self, replica: Replica, chat: Chat) -> Renderer:
        model = chat.model or replica.model or DEFAULT_MODELS.get(chat.provider, "")
        return renderer_for(chat.provider, chat.thread_id or "", model)

    async def _perform(
        self,
        replica: Replica,
        chat: Chat,
        renderer: Renderer,
        script: TurnScript,
        started: float,
    ) -> None:
        """Narrate a script's steps; close the transcript unless it asks the user."""
        step_delay = self.config.turn_step_delay
        for step in script.steps:
            await anyio.sleep(step_delay)
            self._emit(replica, chat, renderer.step(step))

        if script.question is not None:
            return

        await anyio.sleep(step_delay)
        elapsed_ms = int((time.monotonic() - started) * 1000)
        self._emit(replica, chat, renderer.finish(script, elapsed_ms))
        if self._apply(replica, script):
            replica.hub.publish("repo.status.changed", {"repos": _repos(replica)})

    def _emit(self, replica: Replica, chat: Chat, events: list[RawEvent]) -> None:
        for event_type, payload in events:
            event = {
                "timestamp": format_timestamp(utc_now()),
                "type": event_type,
                "payload": payload,
            }
            replica.history.append(HistoryRecord(chat.id, event))
            replica.hub.publish("chat.turn.delta", {"chatId": chat.id, "event": event})

    def _apply(self, replica: Replica, script: TurnScript) -> bool:
        if script.repository is None:
            return False

        worktree = replica.worktree(script.repository)
        if worktree is None:
            return False

        worktree.files.update(script.files)
        if script.pr_url is not None and script.pr_url not in worktree.pr_urls:
            worktree.pr_urls.append(script.pr_url)
        return True

    def _after_turns(self, replica: Replica) -> None:
        # A chat that waits for the user's reply has not finished its turn.
        if replica.busy() or replica.awaiting_input() or replica.status != ACTIVE:
            return

        policy = replica.lifecycle_policy
        if policy == "sleep_when_done":
            self._go_dormant(replica, SLEEPING)
        elif policy == "archive_when_done":
            self._go_dormant(replica, ARCHIVED)
        elif policy == "delete_when_done":
            self.delete(replica)


def _known_to_streams(replica: Replica, chat: Chat) -> bool:
    """Tell whether event streams know the chat: it is announced once up."""
    return replica.status == ACTIVE and chat.announced


def _repos(replica: Replica) -> list[Json]:
    return [engine_repo(w) for w in replica.worktrees]


def _message(request: MessageInput) -> Message:
    return Message(
        id=f"msg_{uuid.uuid4().hex[:20]}",
        text=request.text,
        images=request.images,
        queued_at=utc_now(),
        plan_mode=request.modes.plan,
        goal_mode=request.modes.goal,
        fast_mode=request.modes.fast,
        model=request.model,
        thinking_level=request.thinking_level,
    )


def _receipt(
    status: str, message_id: str | None, position: int | None, chat_id: str | None
) -> Json:
    return {
        "status": status,
        "message_id": message_id,
        "position": position,
        "chat_id": chat_id,
    }
