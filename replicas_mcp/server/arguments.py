"""Checks on tool arguments, made before anything is sent upstream.

Each failure raises `ToolError` with a sentence that names the argument and
says how to fix it, because the reader is a model that will try again.
"""

import base64
import binascii
import re
import uuid
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from ..models import IMAGE_MEDIA_TYPES

MAX_IMAGES = 10
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_NAME_LENGTH = 255

_DATA_URI = re.compile(r"^data:(?P<media_type>[\w.+-]+/[\w.+-]+);base64,", re.I)


class ImageInput(BaseModel):
    """An image for the agent: inline base64 data, or a public URL."""

    model_config = ConfigDict(extra="forbid")

    data: Annotated[
        str | None,
        Field(description="Base64 image bytes (a data: URI is accepted too)."),
    ] = None
    media_type: Annotated[
        str | None,
        Field(description="image/png, image/jpeg, image/gif or image/webp."),
    ] = None
    url: Annotated[
        str | None, Field(description="An http(s) URL of the image, instead of data.")
    ] = None


def replica_id(value: str) -> str:
    """Return the id if it looks like a replica id (a UUID)."""
    text = value.strip()
    if not is_uuid(text):
        raise ToolError(not_a_replica_id(value))

    return text


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False

    return True


def not_a_replica_id(value: str) -> str:
    return (
        f"replica_id {value!r} is not a replica id (ids are UUIDs like "
        "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a); list_replicas shows the ones you "
        "can use"
    )


def optional_id(value: str | None) -> str | None:
    """Treat an empty or blank optional id as not given."""
    if value is None or not value.strip():
        return None

    return value.strip()


def replica_name(value: str) -> str:
    """Check a new replica's name: no whitespace anywhere, at most 255 chars."""
    if not value:
        raise ToolError("name is empty; give a short slug such as fix-login-timeout")

    if re.search(r"\s", value):
        suggestion = "-".join(value.split())
        msg = (
            f"name {value!r} contains whitespace, which the Replicas API rejects; "
            f"use a slug without spaces, such as {suggestion!r}"
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

    media_type, data = _split_data_uri(image.data, image.media_type)
    if media_type not in IMAGE_MEDIA_TYPES:
        allowed = ", ".join(IMAGE_MEDIA_TYPES)
        msg = f"{where}.media_type must be one of {allowed}; got {media_type!r}"
        raise ToolError(msg)

    source = {"type": "base64", "media_type": media_type, "data": _base64(where, data)}
    return {"type": "image", "source": source}


def _split_data_uri(data: str, media_type: str | None) -> tuple[str | None, str]:
    """Accept `data:image/png;base64,...` as well as bare base64."""
    match = _DATA_URI.match(data.strip())
    if match is None:
        return (media_type.strip().lower() if media_type else None), data

    return (media_type or match["media_type"]).strip().lower(), data.strip()[
        match.end() :
    ]


def _base64(where: str, data: str) -> str:
    """Return canonical standard base64, accepting the URL-safe alphabet."""
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

    return base64.b64encode(raw).decode("ascii")
