"""
Typed views of the Replicas API's JSON bodies.

Fields that the API documents as enums (status, agent, event type, ...) are
plain strings here: the service adds values over time, and a new agent or
status must never make a response unreadable. The known values are listed in
constants where the client itself checks them. Unknown keys are ignored.
"""

from datetime import datetime
from typing import Any, cast

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

_EVENT_KEYS = {"timestamp", "type", "payload"}


class _Model(BaseModel):
    # Validators are built on first use: most runs touch a few models, and
    # building all of them would delay a host's first `tools/list`.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class _CamelModel(_Model):
    """A body passed through from the in-workspace engine, which speaks camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)


class Repository(_Model):
    id: str
    name: str
    url: str
    default_branch: str


class RepositorySet(_Model):
    id: str
    name: str
    description: str | None = None
    repositories: list[Repository] = []


class Environment(_Model):
    id: str
    name: str
    description: str | None = None
    is_global: bool = False
    repository_id: str | None = None
    repository_set_id: str | None = None


class RepositoryReference(_Model):
    id: str
    name: str
    url: str


class PullRequest(_Model):
    repository: str
    number: int
    url: str


class GitDiff(_Model):
    added: int
    removed: int
    full_diff: str = ""


class RepositoryStatus(_Model):
    repository: str
    branch: str
    default_branch: str
    pr_urls: list[str] = []
    start_hooks_completed: bool = False
    git_diff: GitDiff | None = None


class Chat(_Model):
    id: str
    provider: str
    title: str
    created_at: datetime
    updated_at: datetime
    processing: bool


class Replica(_Model):
    """A replica as lists and creation return it."""

    id: str
    name: str
    status: str
    source: str
    created_at: datetime
    last_activity_at: datetime | None = None
    repositories: list[RepositoryReference] = []
    pull_requests: list[PullRequest] = []


class ReplicaDetails(Replica):
    """A replica with the live state its engine reports."""

    coding_agent: str | None = None
    repository_statuses: list[RepositoryStatus] | None = None
    waking: bool | None = None
    chats: list[Chat] | None = None
    environment: dict[str, Any] | None = None


class ReplicaPage(_Model):
    replicas: list[Replica]
    total: int
    page: int
    limit: int
    total_pages: int


class ChatList(_Model):
    chats: list[Chat]
    waking: bool | None = None


class MessageReceipt(_Model):
    """What the API says about a message it took: sent now, queued, or waking."""

    status: str
    message_id: str | None = None
    position: int | None = None
    chat_id: str | None = None


class QueuedMessage(_CamelModel):
    id: str
    message: str
    queued_at: datetime


class ChatQueue(_CamelModel):
    """Messages that wait for a chat's agent to finish its current turn."""

    chat_id: str
    processing: bool
    queue: list[QueuedMessage]


class HistoryEvent(_Model):
    timestamp: datetime
    type: str
    payload: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _unwrap_nested_event(cls, data: object) -> object:
        # The schema nests a whole agent event inside `payload` while the service
        # sends it flat; accept both by unwrapping one level.
        if not isinstance(data, dict):
            return data

        payload = cast(dict[str, Any], data).get("payload")
        if isinstance(payload, dict) and _EVENT_KEYS <= payload.keys():
            return cast(dict[str, Any], payload)

        return cast(dict[str, Any], data)


class History(_Model):
    thread_id: str | None = None
    events: list[HistoryEvent]
    total: int
    has_more: bool = Field(validation_alias=AliasChoices("has_more", "hasMore"))
    coding_agent: str | None = None
    waking: bool | None = None


class HookLog(_CamelModel):
    """One warm or start hook run; `output` may be a truncated preview."""

    hook_type: str
    hook_name: str
    output: str
    output_truncated: bool = False
    output_total_chars: int | None = None
    exit_code: int
    timed_out: bool = False
    executed_at: datetime
    hook_script: str | None = None
    hook_commands: list[str] | None = None


class HookLogs(_Model):
    warm_hooks: list[HookLog]
    start_hooks: list[HookLog]

    @model_validator(mode="before")
    @classmethod
    def _flatten_logs(cls, data: Any) -> Any:
        # The API wraps each list as {"logs": [...]}; one level less reads better.
        if not isinstance(data, dict):
            return data

        body = cast(dict[str, Any], data)
        flat: dict[str, Any] = {}
        for key in ("warm_hooks", "start_hooks"):
            section = body.get(key)
            if isinstance(section, dict) and "logs" in section:
                flat[key] = cast(dict[str, Any], section)["logs"]
            else:
                flat[key] = section

        return flat


class EngineEvent(_Model):
    """One event of a replica's live stream."""

    id: str
    ts: datetime
    type: str
    payload: dict[str, Any] = {}
