"""Checks on tool arguments, made before anything is sent upstream.

Each failure raises `ToolError` with a sentence that names the argument and
says how to fix it, because the reader is a model that will try again.
"""

import base64
import binascii
import re
import uuid
from typing import Annotated, Any, cast

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..models import IMAGE_MEDIA_TYPES

MAX_IMAGES = 10
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_NAME_LENGTH = 255

_DATA_URI = re.compile(r"^data:(?P<media_type>[\w.+-]+/[\w.+-]+);base64,", re.I)


class ImageInput(BaseModel):
    # An image for the agent: inline base64 data, or a public URL. (A comment,
    # not a docstring: pydantic would put a docstring into every tool schema.)

    model_config = ConfigDict(extra="forbid")

    data: Annotated[str | None, Field(description="Base64 or data: URI.")] = None
    media_type: Annotated[str | None, Field(description="image/png, jpeg, ...")] = None
    url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_api_shape(cls, value: Any) -> Any:
        """Also take the API's own `{type: image, source: {...}}` form."""
        if not isinstance(value, dict):
            return value

        image = cast(dict[str, Any], value)
        source = image.get("source")
        if image.get("type", "image") != "image" or not isinstance(source, dict):
            return image

        fields = cast(dict[str, Any], source)
        return {k: v for k, v in fields.items() if k in ("data", "media_type", "url")}


def replica_id(value: str, *, field: str = "replica_id") -> str:
    """Return the replica id in canonical form, or refuse what is not a UUID."""
    canonical = uuid_text(value)
    if canonical is None:
        raise ToolError(not_a_replica_id(value, field=field))

    return canonical


def uuid_text(value: str) -> str | None:
    """The canonical spelling of a UUID (any accepted form), or None."""
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def optional_uuid(value: str | None, *, field: str) -> str | None:
    """A blank optional id is not given; any other must be a UUID."""
    text = optional_text(value)
    return None if text is None else required_uuid(text, field=field)


def required_uuid(value: str, *, field: str) -> str:
    canonical = uuid_text(value)
    if canonical is None:
        msg = (
            f"{field} {shown(value)} is not an id (ids are UUIDs); "
            "list_repositories shows the ones you can use"
        )
        raise ToolError(msg)

    return canonical


KNOWN_VALUES = {
    "coding_agent": ("claude", "codex", "cursor", "opencode", "pi"),
    "provider": ("claude", "codex", "cursor", "opencode", "pi"),
    "lifecycle_policy": (
        "default",
        "sleep_when_done",
        "archive_when_done",
        "delete_after_inactivity",
    ),
    "status": ("active", "sleeping", "archived", "preparing", "error"),
}


def enum_word(value: str | None, *, field: str) -> str | None:
    """An enum-like value: blank is not given, garbage is refused, new words pass.

    The service adds agents and states over time, so a value this code does
    not know may still be right; the API answers for those.
    """
    text = optional_text(value)
    if text is None:
        return None

    if not re.fullmatch(r"[a-z][a-z0-9_.-]{0,39}", text):
        known = ", ".join(KNOWN_VALUES.get(field, ()))
        msg = f"{field} {shown(text)} is not a valid value; known values: {known}"
        raise ToolError(msg)

    return text


def is_uuid(value: str) -> bool:
    return uuid_text(value) is not None


def not_a_replica_id(value: str, *, field: str = "replica_id") -> str:
    return (
        f"{field} {shown(value)} is not a replica id (ids are UUIDs like "
        "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a); list_replicas shows the ones you "
        "can use"
    )


def shown(value: str, limit: int = 60) -> str:
    """Quote a caller's value for a message, cut short if it is long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...'"


def brief(value: str, limit: int = 60) -> str:
    """A caller's id for a message, as is unless it is long."""
    return value if len(value) <= limit else f"{value[: limit - 3]}..."


def optional_text(value: str | None) -> str | None:
    """Treat an empty or blank optional string as not given."""
    if value is None or not value.strip():
        return None

    return value.strip()


def replica_name(value: str) -> str:
    """Check a new replica's name: no whitespace anywhere, at most 255 chars."""
    if not value.strip():
        raise ToolError("name is empty; give a short slug such as fix-login-timeout")

    if re.search(r"\s", value):
        suggestion = "-".join(value.split())
        msg = (
            f"name {shown(value)} contains whitespace, which the Replicas API "
            f"rejects; use a slug without spaces, such as {shown(suggestion)}"
        )
        raise ToolError(msg)

    if not value.isprintable():
        msg = (
            f"name {shown(value)} contains control characters; use a slug of "
            "letters, digits and dashes, such as fix-login-timeout"
        )
        raise ToolError(msg)

    if len(value) > MAX_NAME_LENGTH:
        msg = f"name is {len(value)} characters long; keep it to {MAX_NAME_LENGTH}"
        raise ToolError(msg)

    return value


def message_text(value: str) -> str:
    if not value.strip():
        raise ToolError("message is empty; say what the agent should do")

    return value


def required_text(value: str, *, field: str) -> str:
    if not value.strip():
        msg = f"{field} is empty; it is required"
        raise ToolError(msg)

    return value.strip()


def images(values: list[ImageInput] | None) -> list[dict[str, Any]] | None:
    """Turn image inputs into the API's ImageContent objects, checking each."""
    if not values:
        return None

    if len(values) > MAX_IMAGES:
        msg = f"{len(values)} images given; send at most {MAX_IMAGES} per message"
        raise ToolError(msg)

    return [_image_content(index, image) for index, image in enumerate(values)]


def _image_content(index: int, image: ImageInput) -> dict[str, Any]:
    where = f"images[{index}]"
    if image.url is not None and image.data is not None:
        msg = f"{where} has both url and data; give one of them"
        raise ToolError(msg)

    if image.url is not None:
        if not re.match(r"^https?://\S+$", image.url.strip()):
            msg = f"{where}.url must be an http:// or https:// URL"
            raise ToolError(msg)
        return {"type": "image", "source": {"type": "url", "url": image.url.strip()}}

    if image.data is None:
        msg = f"{where} needs either data (base64) with media_type, or url"
        raise ToolError(msg)

    media_type, data = _split_data_uri(where, image.data, image.media_type)
    if media_type not in IMAGE_MEDIA_TYPES:
        allowed = ", ".join(IMAGE_MEDIA_TYPES)
        got = f"got {shown(media_type)}" if media_type else "none was given"
        msg = f"{where}.media_type must be one of {allowed}; {got}"
        raise ToolError(msg)

    raw = _decoded(where, data)
    _check_whole(where, media_type, raw)
    encoded = base64.b64encode(raw).decode("ascii")
    source = {"type": "base64", "media_type": media_type, "data": encoded}
    return {"type": "image", "source": source}


def _split_data_uri(
    where: str, data: str, media_type: str | None
) -> tuple[str | None, str]:
    """Accept `data:image/png;base64,...` as well as bare base64."""
    given = media_type.strip().lower() if media_type else None
    match = _DATA_URI.match(data.strip())
    if match is None:
        return given, data

    embedded = match["media_type"].lower()
    if given and given != embedded:
        msg = f"{where} says media_type {given} but its data: URI says {embedded}"
        raise ToolError(msg)

    return embedded, data.strip()[match.end() :]


def _decoded(where: str, data: str) -> bytes:
    """Decode base64 in the standard or the URL-safe alphabet, padded or not."""
    compact = "".join(data.split())
    if not compact:
        msg = f"{where}.data is empty"
        raise ToolError(msg)

    standard = compact.replace("-", "+").replace("_", "/")
    padded = standard + "=" * (-len(standard) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        msg = f"{where}.data is not valid base64; send the file's bytes base64-encoded"
        raise ToolError(msg) from None

    if len(raw) > MAX_IMAGE_BYTES:
        limit = MAX_IMAGE_BYTES // (1024 * 1024)
        msg = f"{where} is {len(raw):,} bytes; images may be at most {limit} MiB"
        raise ToolError(msg)

    return raw


def _check_whole(where: str, media_type: str, raw: bytes) -> None:
    """Refuse bytes that are not a whole image of the type they claim.

    Each format has a fixed start and a fixed end (or a length field), so
    a wrong media type and a cut-off upload both show before anything is sent.
    """
    whole = {
        "image/png": raw.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in raw[-12:],
        "image/jpeg": raw.startswith(b"\xff\xd8\xff") and raw.endswith(b"\xff\xd9"),
        "image/gif": raw[:6] in (b"GIF87a", b"GIF89a") and raw.endswith(b"\x3b"),
        "image/webp": raw[:4] == b"RIFF"
        and raw[8:12] == b"WEBP"
        and int.from_bytes(raw[4:8], "little") == len(raw) - 8,
    }[media_type]
    if not whole:
        msg = (
            f"{where}.data is not a whole {media_type} file: it is cut short or "
            "another format; send the complete file with its real media_type"
        )
        raise ToolError(msg)
