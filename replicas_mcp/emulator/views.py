"""JSON shapes of the API (snake_case) and of the engine (camelCase)."""

import re
from typing import Any

from .clock import format_timestamp
from .records import ACTIVE, Chat, Message, Replica, Sender, Worktree
from .seed import EnvironmentSeed, OrganizationSeed, RepositorySeed, RepositorySetSeed

Json = dict[str, Any]

SEEDED_AT = "2026-01-15T09:30:00.000Z"

_PR_NUMBER = re.compile(r"/(?:pull|merge_requests)/(\d+)")


def repository(repo: RepositorySeed) -> Json:
    """Render a Repository (§3.1)."""
    return {
        "id": repo.id,
        "name": repo.name,
        "url": repo.url,
        "default_branch": repo.default_branch,
    }


def repository_set(org: OrganizationSeed, repo_set: RepositorySetSeed) -> Json:
    """Render a RepositorySet (§3.2)."""
    members = [org.repositories[i] for i in repo_set.repository_ids]
    return {
        "id": repo_set.id,
        "name": repo_set.name,
        "description": repo_set.description,
        "repositories": [repository(r) for r in members],
    }


def environment(org: OrganizationSeed, env: EnvironmentSeed) -> Json:
    """Render an Environment (§11.1)."""
    return {
        "id": env.id,
        "organization_id": org.id,
        "user_id": None,
        "name": env.name,
        "description": env.description,
        "is_global": env.is_global,
        "repository_id": env.repository_id,
        "repository_set_id": env.repository_set_id,
        "system_prompt": env.system_prompt,
        "mobile_testing_enabled": False,
        "personal_preferences": None,
        "source_environment_id": None,
        "variable_count": len(env.variables),
        "file_count": len(env.files),
        "skill_count": len(env.skills),
        "mcp_count": env.mcp_count,
        "created_at": SEEDED_AT,
        "updated_at": SEEDED_AT,
    }


def pull_requests(replica: Replica) -> list[Json]:
    """Render `pull_requests`: every worktree's PR URLs with their numbers (A28)."""
    result: list[Json] = []
    for worktree in replica.worktrees:
        for url in worktree.pr_urls:
            match = _PR_NUMBER.search(url)
            number = int(match.group(1)) if match else 0
            result.append(
                {"repository": worktree.repository.name, "number": number, "url": url}
            )
    return result


def list_item(replica: Replica, status: str | None = None) -> Json:
    """Render a ReplicaListItem (§3.5); `status` overrides the stored one."""
    last = replica.last_activity_at
    return {
        "id": replica.id,
        "name": replica.name,
        "status": status or replica.status,
        "source": replica.source,
        "created_at": format_timestamp(replica.created_at),
        "last_activity_at": None if last is None else format_timestamp(last),
        "repositories": [
            {
                "id": w.repository.id,
                "name": w.repository.name,
                "url": w.repository.url,
            }
            for w in replica.worktrees
        ],
        "pull_requests": pull_requests(replica),
    }


def chat(chat: Chat) -> Json:
    """Render a ReplicaChat (§3.9)."""
    return {
        "id": chat.id,
        "provider": chat.provider,
        "title": chat.title,
        "created_at": format_timestamp(chat.created_at),
        "updated_at": format_timestamp(chat.updated_at),
        "processing": chat.busy,
    }


def repository_status(worktree: Worktree, *, with_diff: bool) -> Json:
    """Render a RepositoryStatus (§3.7); the diff text only on request (A7)."""
    stat = worktree.stat()
    return {
        "repository": worktree.repository.name,
        "branch": worktree.branch,
        "default_branch": worktree.repository.default_branch,
        "pr_urls": list(worktree.pr_urls),
        "start_hooks_completed": worktree.start_hooks_completed,
        "git_diff": {
            "added": stat.added,
            "removed": stat.removed,
            "full_diff": worktree.full_diff() if with_diff else "",
        },
    }


def _hook_state(replica: Replica, worktree: Worktree) -> str:
    if worktree.start_hooks_completed:
        failed = worktree.repository.start_hook.exit_code != 0
        return "failed" if failed else "succeeded"
    return "running" if replica.hooks_running else "pending"


def replica_environment(replica: Replica, engine_version: str) -> Json:
    """Render a ReplicaEnvironment (§3.10) as the engine reports it."""
    env = replica.environment
    return {
        "engine_version": engine_version,
        "files_uploaded": list(env.files),
        "env_vars_set": list(env.variables),
        "skills_installed": list(env.skills),
        "integrations": {
            "github": True,
            "gitlab": False,
            "linear": False,
            "slack": True,
            "google": False,
        },
        "coding_agents": {
            "claude": {"available": True, "auth_method": "api_key"},
            "codex": {"available": True, "auth_method": "api_key"},
            "cursor": {"available": False, "auth_method": "none"},
            "opencode": {"available": True, "auth_method": "openrouter"},
            "pi": {"available": True, "auth_method": "openrouter"},
        },
        "hooks": {
            "global_warm_hook": {"status": "succeeded", "details": None},
            "repositories": [
                {
                    "repository_name": w.repository.name,
                    "warm_hook": "succeeded",
                    "start_hook": _hook_state(replica, w),
                }
                for w in replica.worktrees
            ],
        },
        "last_updated_at": format_timestamp(replica.created_at),
    }


def replica_details(
    replica: Replica,
    *,
    status: str | None,
    waking: bool,
    includes: set[str],
    engine_version: str,
) -> Json:
    """Render ReplicaDetails (§3.6); engine-derived keys only while active (A9)."""
    details = list_item(replica, status)
    engine_up = replica.status == ACTIVE and not waking
    if engine_up:
        details["coding_agent"] = replica.coding_agent
        details["repository_statuses"] = [
            repository_status(w, with_diff="diffs" in includes)
            for w in replica.worktrees
        ]
        details["chats"] = [chat(c) for c in replica.chats.values()]

    details["waking"] = waking
    if "environment" in includes:
        details["environment"] = (
            replica_environment(replica, engine_version) if engine_up else None
        )

    return details


def engine_repo(worktree: Worktree) -> Json:
    """Render an EngineRepoState (§8.3)."""
    stat = worktree.stat()
    return {
        "name": worktree.repository.name,
        "path": worktree.path,
        "defaultBranch": worktree.repository.default_branch,
        "currentBranch": worktree.branch,
        "prUrls": list(worktree.pr_urls),
        "gitDiff": {
            "added": stat.added,
            "removed": stat.removed,
            "fullDiff": worktree.full_diff(),
        },
        "startHooksCompleted": worktree.start_hooks_completed,
        "provider": "github",
    }


def engine_chat(chat: Chat) -> Json:
    """Render an EngineChatSummary (§8.3)."""
    return {
        "id": chat.id,
        "provider": chat.provider,
        "title": chat.title,
        "createdAt": format_timestamp(chat.created_at),
        "updatedAt": format_timestamp(chat.updated_at),
        "processing": chat.busy,
        "parentChatId": chat.parent_chat_id,
        "awaitingInput": chat.awaiting_input,
        "lastMessageText": chat.last_message_text,
    }


def sender(record: Sender) -> Json:
    """Render a ChatMessageSender."""
    return {
        "senderUserId": record.user_id,
        "senderEmail": record.email,
        "recordedAt": format_timestamp(record.recorded_at),
    }


def queued_message(message: Message) -> Json:
    """Render a QueuedMessageInfo; sender fields only when the send gave them."""
    info: Json = {
        "id": message.id,
        "message": message.text,
        "queuedAt": format_timestamp(message.queued_at),
    }
    if message.sender_user_id is not None:
        info["senderUserId"] = message.sender_user_id
    if message.sender_email is not None:
        info["senderEmail"] = message.sender_email
    return info


def chat_queue(chat: Chat) -> Json:
    """Render a ChatQueueResponse (§5.12); `processing` as in ReplicaChat."""
    return {
        "chatId": chat.id,
        "processing": chat.busy,
        "queue": [queued_message(m) for m in chat.waiting()],
    }


def queue_mutation(chat: Chat, changed: bool) -> Json:
    """Render a QueueMutationResponse: the queue after the edit."""
    return {"success": changed, "queue": [queued_message(m) for m in chat.waiting()]}
