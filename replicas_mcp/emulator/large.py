"""Large replicas: idle workspaces that each hold one huge upstream payload.

With `EmulatorConfig(large_replicas=True)` every organisation starts with three
`active`, idle replicas (nothing processing, start hooks done). Their ids are
`stable_id(org, "replica", name)`; `large_replica_ids(org)` returns them.

- `large-diff` (environment `frontend+api`): `GET /v1/replica/{id}?include=diffs`
  carries 2,986,858 chars of diff in `repository_statuses[].git_diff.full_diff`:
  1,970,704 over 255 files in `<org>/web` (+24,944/-9,039) and 1,016,154 over
  115 files in `<org>/api` (+12,438/-4,141). It mixes one-line hunks, a
  16,000-line new file, a lockfile with 1,000 hunks, three deleted files and
  seven new ones (see `large_diff.py`).
- `large-history` (environment `api`): 5,000 Claude events in two chats. The
  older chat "Migrate billing to the v2 invoices API" has 4,000 events and ends
  with a 50,000-char assistant text; the newer "Investigate the flaky checkout
  tests" has 1,000 and its last Bash `tool_result` is 204,800 chars (200 KiB).
- `large-hooks` (environment `frontend+api`): the `<org>/web` start hook printed
  50,000 lines (4,528,409 chars); the API returns their tail, 99,994 chars of
  whole lines, with `outputTruncated: true`. The `<org>/api` start hook failed
  with exit code 1; the environment hook and the three warm hooks are small.

`large-diff` and `large-hooks` also hold one short chat each. The big texts are
built once per process and shared by every organisation.
"""

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from . import large_diff
from .hooks import environment_start_log, repository_start_log, warm_hook_logs
from .large_history import MODEL, Monster, chat_history, history_span, last_prompt
from .records import ACTIVE, Chat, Replica, Worktree
from .seed import (
    EnvironmentSeed,
    OrganizationSeed,
    RepositorySeed,
    StartHook,
    environment_repositories,
    stable_id,
)

LARGE_DIFF = "large-diff"
LARGE_HISTORY = "large-history"
LARGE_HOOKS = "large-hooks"
LARGE_REPLICA_NAMES = (LARGE_DIFF, LARGE_HISTORY, LARGE_HOOKS)

HOOK_LOG_LINES = 50_000
WEB_START_COMMANDS = ("npm ci", "npm run build -- --logLevel info")
API_START_COMMANDS = ('pip install -e ".[dev]"', "pytest -q")

API_FAILURE_LOG = """\
$ pip install -e ".[dev]"
Obtaining file:///workspace/api
Successfully installed api-3.2.0
$ pytest -q
.......................................F............                     [100%]
=================================== FAILURES ===================================
_________________________ test_v2_totals_match_legacy __________________________

    def test_v2_totals_match_legacy():
>       assert compute_total(v2_invoice()) == compute_total(legacy_invoice())
E       assert 1042 == 1041

tests/invoices/test_v2.py:18: AssertionError
=========================== short test summary info ============================
FAILED tests/invoices/test_v2.py::test_v2_totals_match_legacy - assert 1042 == 1041
1 failed, 51 passed in 3.82s
"""
"""The `<org>/api` start hook output of `large-hooks`; the hook exits with 1."""

_BUILD_FEATURES = ("billing", "checkout", "reports", "search", "settings", "teams")
_BUILD_PARTS = ("Table", "Row", "Form", "Dialog", "Summary", "Toolbar")

_CREATED_AT = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
# Boot and start hooks take a while before the first prompt.
_FIRST_EVENT_AFTER = timedelta(minutes=1)
_HOOKS_RAN_AFTER = timedelta(seconds=20)


@dataclass(frozen=True)
class _ChatPlan:
    """A seeded chat: its title, how many turns, and which monster ends it."""

    title: str
    turns: int
    monster: Monster | None = None


_HISTORY_CHATS = (
    _ChatPlan("Migrate billing to the v2 invoices API", 400, "text"),
    _ChatPlan("Investigate the flaky checkout tests", 100, "tool_result"),
)
_SHORT_CHAT = _ChatPlan("Move invoice totals to the v2 API", 1)


def large_replica_ids(organization: str) -> dict[str, str]:
    """Return the ids of `organization`'s large replicas, keyed by name."""
    return {
        name: stable_id(organization, "replica", name) for name in LARGE_REPLICA_NAMES
    }


@functools.cache
def web_build_log() -> str:
    """Return the `<org>/web` start hook output of `large-hooks`: 50,000 lines."""
    head = [
        "$ npm ci",
        "added 1412 packages, and audited 1413 packages in 21s",
        "$ npm run build -- --logLevel info",
        "vite v7.0.0 building for production...",
    ]
    tail = [
        "dist/index.html                         0.46 kB",
        "dist/assets/index-4f1c2a9b.js       4,812.31 kB | gzip: 1,203.92 kB",
        "(!) Some chunks are larger than 500 kB after minification.",
        "built in 96.41s",
    ]
    modules = HOOK_LOG_LINES - len(head) - len(tail) - 1
    body = [_module_line(k) for k in range(modules)]
    summary = f"{modules} modules transformed."
    return "\n".join([*head, *body, summary, *tail]) + "\n"


def _module_line(k: int) -> str:
    """Return the build log line of the `k`-th transformed module."""
    feature = _BUILD_FEATURES[k % len(_BUILD_FEATURES)]
    part = _BUILD_PARTS[k // len(_BUILD_FEATURES) % len(_BUILD_PARTS)]
    minutes, seconds = divmod(k // 9, 60)
    return (
        f"[{minutes:02d}:{seconds:02d}] transformed src/features/{feature}/"
        f"components/{feature.capitalize()}{part}{k}.tsx "
        f"({(k * 37) % 900 / 100 + 0.4:.2f} kB, {k % 40 + 2} ms)"
    )


def build_large_replicas(org: OrganizationSeed, orders: Iterator[int]) -> list[Replica]:
    """Build `org`'s large replicas, active and idle, numbered from `orders`."""
    return [
        _diff_replica(org, next(orders)),
        _history_replica(org, next(orders)),
        _hooks_replica(org, next(orders)),
    ]


def _set_environment(org: OrganizationSeed) -> EnvironmentSeed:
    return org.environments[
        stable_id(org.name, "environment", "repository-set", "frontend+api")
    ]


def _api_environment(org: OrganizationSeed) -> EnvironmentSeed:
    return org.environments[stable_id(org.name, "environment", "repository", "api")]


def _short_name(repo: RepositorySeed) -> str:
    return repo.name.rsplit("/", 1)[-1]


def _worktree(repo: RepositorySeed, name: str) -> Worktree:
    return Worktree(
        repo,
        branch=f"replicas/{name}",
        files=dict(repo.files),
        start_hooks_completed=True,
    )


def _diff_replica(org: OrganizationSeed, order: int) -> Replica:
    env = _set_environment(org)
    worktrees: list[Worktree] = []
    for repo in environment_repositories(org, env):
        # Every organisation shares the one diff text built for the process.
        diff = large_diff.branch_diff(_short_name(repo))
        worktree = _worktree(repo, LARGE_DIFF)
        worktree.preset_diff = diff.text
        worktree.preset_stat = diff.stat
        worktrees.append(worktree)

    return _assemble(org, LARGE_DIFF, env, worktrees, order, [_SHORT_CHAT])


def _history_replica(org: OrganizationSeed, order: int) -> Replica:
    env = _api_environment(org)
    worktrees = [
        _worktree(r, LARGE_HISTORY) for r in environment_repositories(org, env)
    ]
    return _assemble(org, LARGE_HISTORY, env, worktrees, order, list(_HISTORY_CHATS))


def _hooks_replica(org: OrganizationSeed, order: int) -> Replica:
    env = _set_environment(org)
    # The hooks belong to the replica's own copy of each repository, so a wake
    # runs them again with the same output.
    start_hooks = {
        "web": StartHook(WEB_START_COMMANDS, web_build_log()),
        "api": StartHook(API_START_COMMANDS, API_FAILURE_LOG, exit_code=1),
    }
    worktrees = [
        _worktree(replace(r, start_hook=start_hooks[_short_name(r)]), LARGE_HOOKS)
        for r in environment_repositories(org, env)
    ]
    return _assemble(org, LARGE_HOOKS, env, worktrees, order, [_SHORT_CHAT])


def _assemble(
    org: OrganizationSeed,
    name: str,
    env: EnvironmentSeed,
    worktrees: list[Worktree],
    order: int,
    chat_plans: list[_ChatPlan],
) -> Replica:
    """Build an active, idle replica whose boot, hooks and turns lie in the past."""
    created_at = _CREATED_AT + timedelta(minutes=order)
    hooks_at = created_at + _HOOKS_RAN_AFTER
    replica = Replica(
        id=stable_id(org.name, "replica", name),
        organization=org.name,
        name=name,
        environment=env,
        created_at=created_at,
        created_order=order,
        status=ACTIVE,
        worktrees=worktrees,
        coding_agent="claude",
        model=MODEL,
        warm_hook_logs=warm_hook_logs(worktrees, created_at),
        start_hook_logs=[
            environment_start_log(hooks_at),
            *(repository_start_log(w, hooks_at) for w in worktrees),
        ],
        hooks_completed=True,
        ready=True,
        idle_since=time.monotonic(),
    )
    replica.settled.set()

    _add_chats(replica, chat_plans, created_at + _FIRST_EVENT_AFTER)
    return replica


def _add_chats(replica: Replica, plans: list[_ChatPlan], start: datetime) -> None:
    """Give the replica its chats, one after the other, and their history."""
    for index, plan in enumerate(plans):
        chat = Chat(
            id=stable_id(replica.id, "chat", str(index)),
            provider="claude",
            title=plan.title,
            created_at=start,
            updated_at=start,
            thread_id=stable_id(replica.id, "session", str(index)),
            model=MODEL,
            announced=True,
            last_message_text=last_prompt(plan.turns),
        )
        records = chat_history(chat, plan.turns, start, monster=plan.monster)
        replica.chats[chat.id] = chat
        replica.history += records

        chat.updated_at = start + history_span(len(records))
        replica.last_activity_at = chat.updated_at
        start = chat.updated_at + timedelta(minutes=5)
