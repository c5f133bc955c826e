"""Decoding of the replica event stream's `data:` payloads."""

import json
import logging
from typing import Any, cast

from pydantic import ValidationError

from ..models import EngineEvent

logger = logging.getLogger(__name__)


def decode_event(data: str) -> EngineEvent | None:
    """Parse one SSE `data` field into an event, or None for anything else.

    Keep-alives, blank data, JSON that is not an object with a string `type`,
    and envelopes missing their id or timestamp are all skipped: the stream's
    contract says clients must tolerate them.
    """
    if not data.strip():
        return None

    try:
        raw = json.loads(data)
    except ValueError:
        logger.debug("skipped a non-JSON event")
        return None

    if not isinstance(raw, dict):
        return None

    envelope = cast(dict[str, Any], raw)
    if not isinstance(envelope.get("type"), str):
        return None

    try:
        return EngineEvent.model_validate(envelope)
    except ValidationError:
        logger.debug("skipped a malformed %r event", envelope["type"])
        return None
