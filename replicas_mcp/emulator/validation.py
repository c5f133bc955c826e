"""Parse and validate request bodies and query parameters (§2, §3.11, A16, A17)."""

import base64
import binascii
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import ApiError, bad_request

Json = dict[str, Any]

AGENTS = ("claude", "codex", "cursor", "opencode", "pi")
LIFECYCLE_POLICIES = (
    "default",
    "archive_when_done",
    "sleep_when_done",
    "delete_after_inactivity",
    "delete_when_done",
)
THINKING_LEVELS = ("low", "medium", "high", "xhigh", "max", "ultra", "ultracode")
SIZES = ("small", "large")
STATUSES = ("active", "sleeping", "archived", "preparing", "error")
SOURCES = ("api", "dashboard", "slack", "linear", "github", "gitlab", "automation")
MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
API_VERSION = "2026-05-17"
MAX_NAME_LENGTH = 255

_MODE_PREFIX = re.compile(r"^\s*/(plan|goal|fast)(?=\s|$)\s*")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def parse_json_object(raw: bytes) -> Json:
    """Decode a request body that must hold a JSON object."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request("Invalid JSON body", str(exc)) from exc

    if not isinstance(data, dict):
        raise bad_request("Request body must be a JSON object")

    return dict(data)  # pyright: ignore[reportUnknownArgumentType]


def _allowed(values: Sequence[str]) -> str:
    return ", ".join(values)


class Fields:
    """Typed access to the fields of a JSON body, raising 400 on bad values."""

    def __init__(self, body: Mapping[str, Any], *, strict_enums: bool = True):
        self._body = body
        self._strict = strict_enums

    def string(self, key: str, *, required: bool = False) -> str | None:
        """Return a string field."""
        value = self._body.get(key)
        if value is None:
            if required:
                raise bad_request(f"{key} is required")
            return None

        if not isinstance(value, str):
            raise bad_request(f"{key} must be a string")

        return value

    def text(self, key: str) -> str:
        """Return a required string that is not blank."""
        value = self.string(key, required=True) or ""
        if not value.strip():
            raise bad_request(f"{key} is required", f"{key} must not be empty")
        return value

    def index(self, key: str) -> int:
        """Return a required integer that is 0 or more (a 0-based position)."""
        value = self._body.get(key)
        if value is None:
            raise bad_request(f"{key} is required")
        # JSON true is not a position, though Python counts bool as int.
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"{key} must be an integer", f"got {value!r}")
        if value < 0:
            raise bad_request(f"{key} must be 0 or more", f"got {value}")
        return value

    def boolean(self, key: str) -> bool:
        """Return a boolean field; absent means false."""
        value = self._body.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise bad_request(f"{key} must be a boolean")
        return value

    def choice(self, key: str, allowed: Sequence[str]) -> str | None:
        """Return an enum field, checked against `allowed` unless relaxed."""
        value = self.string(key)
        if value is None or value in allowed or not self._strict:
            return value
        raise bad_request(
            f"{key} must be one of: {_allowed(allowed)}", f"got {value!r}"
        )

    def uuid(self, key: str) -> str | None:
        """Return a UUID field in canonical form."""
        value = self.string(key)
        if value is None:
            return None
        return parse_uuid(value, key)

    def uuid_list(self, key: str) -> list[str] | None:
        """Return a list of UUIDs."""
        value = self._body.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise bad_request(f"{key} must be an array of UUIDs")

        items: list[Any] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        return [_uuid_item(key, i, item) for i, item in enumerate(items)]

    def object(self, key: str) -> Json | None:
        """Return an object field."""
        value = self._body.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise bad_request(f"{key} must be an object")
        return dict(value)  # pyright: ignore[reportUnknownArgumentType]

    def images(self) -> list[Json]:
        """Return the validated `images` list (§3.11)."""
        value = self._body.get("images")
        if value is None:
            return []
        if not isinstance(value, list):
            raise bad_request("images must be an array of image objects")

        items: list[Any] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        return [validate_image(i, item) for i, item in enumerate(items)]


def _uuid_item(key: str, index: int, item: Any) -> str:
    if not isinstance(item, str):
        raise bad_request(f"{key}[{index}] must be a UUID string")
    return parse_uuid(item, f"{key}[{index}]")


def parse_uuid(value: str, what: str) -> str:
    """Return `value` as a canonical UUID string or raise 400."""
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise bad_request(f"{what} must be a UUID", f"got {value!r}") from exc


def is_uuid(value: str) -> bool:
    """Tell whether `value` is a UUID in any accepted spelling."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def validate_image(index: int, item: Any) -> Json:
    """Check one ImageContent object and return a clean copy."""
    where = f"images[{index}]"
    if not isinstance(item, dict):
        raise bad_request(f"{where} must be an object")

    image: Json = dict(item)  # pyright: ignore[reportUnknownArgumentType]
    if image.get("type") != "image":
        raise bad_request(f'{where}.type must be "image"')

    source = image.get("source")
    if not isinstance(source, dict):
        raise bad_request(f"{where}.source must be an object")

    fields: Json = dict(source)  # pyright: ignore[reportUnknownArgumentType]
    if fields.get("type") == "base64":
        return {"type": "image", "source": _base64_source(where, fields)}
    if fields.get("type") == "url":
        return {"type": "image", "source": _url_source(where, fields)}

    raise bad_request(f"{where}.source.type must be one of: base64, url")


def _base64_source(where: str, source: Json) -> Json:
    media_type = source.get("media_type")
    if media_type not in MEDIA_TYPES:
        raise bad_request(
            f"{where}.source.media_type must be one of: {_allowed(MEDIA_TYPES)}"
        )

    data = source.get("data")
    if not isinstance(data, str) or not data:
        raise bad_request(f"{where}.source.data must be a non-empty base64 string")
    if len(data) % 4 or not _BASE64.match(data):
        raise bad_request(f"{where}.source.data is not valid base64")
    try:
        base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise bad_request(f"{where}.source.data is not valid base64") from exc

    return {"type": "base64", "media_type": media_type, "data": data}


def _url_source(where: str, source: Json) -> Json:
    url = source.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_request(f"{where}.source.url must be an http or https URL")
    return {"type": "url", "url": url}


@dataclass(frozen=True)
class Modes:
    """Mode flags, from body fields or leading `/plan`, `/goal`, `/fast`."""

    plan: bool = False
    goal: bool = False
    fast: bool = False


def strip_mode_prefixes(text: str, modes: Modes) -> tuple[str, Modes]:
    """Remove leading mode commands from a message and fold them into `modes`."""
    flags = {"plan": modes.plan, "goal": modes.goal, "fast": modes.fast}
    while match := _MODE_PREFIX.match(text):
        flags[match.group(1)] = True
        text = text[match.end() :]

    return text, Modes(**flags)


def _check_thinking(level: str | None, agent: str, strict: bool) -> None:
    if level is None or not strict:
        return
    if level == "ultra" and agent != "codex":
        raise bad_request("thinking_level ultra is only valid for codex")
    if level == "ultracode" and agent != "claude":
        raise bad_request("thinking_level ultracode is only valid for claude")


@dataclass(frozen=True)
class MessageInput:
    """The part shared by create and send: what the agent is asked to do."""

    text: str
    images: list[Json]
    modes: Modes
    model: str | None
    thinking_level: str | None


def _message_input(fields: Fields, key: str, agent: str, strict: bool) -> MessageInput:
    text = fields.text(key)
    modes = Modes(
        fields.boolean("plan_mode"),
        fields.boolean("goal_mode"),
        fields.boolean("fast_mode"),
    )
    text, modes = strip_mode_prefixes(text, modes)
    thinking = fields.choice("thinking_level", THINKING_LEVELS)
    _check_thinking(thinking, agent, strict)
    return MessageInput(
        text=text,
        images=fields.images(),
        modes=modes,
        model=fields.string("model"),
        thinking_level=thinking,
    )


@dataclass(frozen=True)
class CreateInput:
    """A validated `POST /v1/replica` body."""

    name: str
    message: MessageInput
    coding_agent: str
    environment_id: str | None
    repository_set_id: str | None
    repository_ids: list[str] | None
    lifecycle_policy: str
    size: str
    config: Json
    webhook: Json | None


def _name(fields: Fields) -> str:
    name = fields.string("name", required=True) or ""
    if not name or re.search(r"\s", name):
        raise bad_request("name must not contain whitespace", f"got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise bad_request(f"name must be at most {MAX_NAME_LENGTH} characters")
    return name


def _webhook(body: Mapping[str, Any]) -> Json | None:
    value = body.get("webhook_url")
    if value is None:
        return None

    target = {"url": value} if isinstance(value, str) else value
    if not isinstance(target, dict):
        raise bad_request("webhook_url must be a URL or an object with url")

    hook: Json = dict(target)  # pyright: ignore[reportUnknownArgumentType]
    url = hook.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_request("webhook_url.url must be an http or https URL")
    if hook.get("secret") is not None and not isinstance(hook["secret"], str):
        raise bad_request("webhook_url.secret must be a string")

    return {"url": url, "secret": hook.get("secret")}


def parse_create(body: Json, *, strict_enums: bool) -> CreateInput:
    """Validate a create body (A16, A17); targets are checked by the caller."""
    fields = Fields(body, strict_enums=strict_enums)
    name = _name(fields)
    agent = fields.choice("coding_agent", AGENTS) or "claude"
    message = _message_input(fields, "message", agent, strict_enums)

    environment_id = fields.uuid("environment_id")
    set_id = fields.uuid("repository_set_id")
    repo_ids = fields.uuid_list("repository_ids")
    if environment_id is None and set_id is None and not repo_ids:
        raise bad_request(
            "One of environment_id, repository_set_id or repository_ids is required"
        )
    if environment_id is None and set_id is not None and repo_ids:
        raise bad_request("Give repository_set_id or repository_ids, not both")

    return CreateInput(
        name=name,
        message=message,
        coding_agent=agent,
        environment_id=environment_id,
        repository_set_id=set_id,
        repository_ids=repo_ids,
        lifecycle_policy=fields.choice("lifecycle_policy", LIFECYCLE_POLICIES)
        or "default",
        size=fields.choice("size", SIZES) or "small",
        config=fields.object("config") or {},
        webhook=_webhook(body),
    )


@dataclass(frozen=True)
class SendInput:
    """A validated `POST /v1/replica/{id}/messages` body."""

    message: MessageInput
    chat_id: str | None
    coding_agent: str | None
    sender_user_id: str | None = None
    sender_email: str | None = None


def parse_send(body: Json, *, strict_enums: bool, current_agent: str) -> SendInput:
    """Validate a send-message body."""
    fields = Fields(body, strict_enums=strict_enums)
    agent = fields.choice("coding_agent", AGENTS)
    return SendInput(
        message=_message_input(fields, "message", agent or current_agent, strict_enums),
        chat_id=fields.string("chat_id"),
        coding_agent=agent,
        sender_user_id=fields.string("senderUserId"),
        sender_email=fields.string("senderEmail"),
    )


@dataclass(frozen=True)
class ChatInput:
    """A validated `POST /v1/replica/{id}/chats` body (camelCase optionals)."""

    provider: str
    title: str | None = None
    chat_id: str | None = None
    created_at: str | None = None
    parent_chat_id: str | None = None
    client_request_id: str | None = None


def parse_create_chat(body: Json, *, strict_enums: bool) -> ChatInput:
    """Validate a create-chat body."""
    fields = Fields(body, strict_enums=strict_enums)
    provider = fields.choice("provider", AGENTS)
    if provider is None:
        raise bad_request("provider is required", f"one of: {_allowed(AGENTS)}")

    return ChatInput(
        provider=provider,
        title=fields.string("title"),
        chat_id=fields.uuid("id"),
        created_at=fields.string("createdAt"),
        parent_chat_id=fields.uuid("parentChatId"),
        client_request_id=fields.string("clientRequestId"),
    )


@dataclass(frozen=True)
class ReorderInput:
    """A validated `PATCH .../queue/reorder` body (camelCase, §5.12)."""

    message_id: str
    position: int


def parse_reorder(body: Json) -> ReorderInput:
    """Validate a queue reorder body; both fields are required."""
    fields = Fields(body)
    return ReorderInput(
        message_id=fields.text("messageId"), position=fields.index("position")
    )


def query_int(
    params: Mapping[str, str],
    key: str,
    default: int | None,
    *,
    minimum: int,
    maximum: int | None = None,
) -> int | None:
    """Read an integer query parameter within bounds, or raise 400."""
    raw = params.get(key)
    if raw is None or raw == "":
        return default

    bounds = f"at least {minimum}" if maximum is None else f"{minimum}-{maximum}"
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"{key} must be an integer ({bounds})") from exc

    if value < minimum or (maximum is not None and value > maximum):
        raise bad_request(f"{key} must be an integer ({bounds})", f"got {value}")

    return value


def query_choice(
    params: Mapping[str, str], key: str, allowed: Sequence[str]
) -> str | None:
    """Read an enum query parameter, or raise 400."""
    value = params.get(key)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise bad_request(
            f"{key} must be one of: {_allowed(allowed)}", f"got {value!r}"
        )
    return value


def check_api_version(value: str | None, *, strict: bool) -> bool:
    """Tell whether the create call opted into the async API version (A2)."""
    if value is None:
        return False
    if value == API_VERSION:
        return True
    if strict:
        raise ApiError(
            400,
            f"X-Replicas-Api-Version must be {API_VERSION}",
            f"got {value!r}",
        )
    return False
