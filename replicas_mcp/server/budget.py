"""How much text one answer may carry, and helpers to stay within it.

Budgets are counted in characters of serialized output (text plus structured
content) at about four characters a token, which over-counts code and JSON a
little: erring that way keeps answers under a host's cap.
"""

import json
from typing import Annotated

from pydantic import Field

CHARS_PER_TOKEN = 4
DEFAULT_TOKENS = 8_000
MAX_TOKENS = 20_000

MaxTokens = Annotated[int, Field(ge=500, le=MAX_TOKENS)]


def chars(tokens: int) -> int:
    """The character budget for a token budget, capped at the hard limit."""
    return min(tokens, MAX_TOKENS) * CHARS_PER_TOKEN


def clip(text: str, limit: int) -> tuple[str, int]:
    """Cut text to `limit` characters; return it and how many were dropped."""
    if len(text) <= limit:
        return text, 0

    return text[:limit], len(text) - limit


def tail_lines(lines: list[str], count: int, skip: int) -> tuple[int, int]:
    """The [start, end) slice of the `count` lines before the last `skip` ones."""
    end = max(0, len(lines) - skip)
    return max(0, end - count), end


def encoded_len(text: str) -> int:
    """Length of `text` as a JSON string, which is how hosts receive it."""
    return len(json.dumps(text, ensure_ascii=False))


def head_that_fits(text: str, room: int) -> str:
    """The longest run of whole lines from the start that encodes within `room`.

    Falls back to a mid-line cut when even the first line is too long.
    """
    cut = min(len(text), room)
    while cut > 0:
        head = text[:cut]
        if cut < len(text) and "\n" in head:
            head = head[: head.rfind("\n") + 1]
        size = encoded_len(head)
        if size <= room:
            return head
        # Escapes (quotes, tabs, control bytes) make the text longer on the
        # wire; shrink in proportion and try again.
        cut = min(len(head) - 1, len(head) * room // size)

    return ""
