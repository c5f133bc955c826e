"""The conversation tool: newest first, trimmed per message, paged by offset."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ...api import ReplicasClient
from ...models import HistoryEvent
from .. import arguments, budget
from ..failures import tool_errors
from ..state import AppState
from ..transcript import entry
from ..views import Part, View, answer, call
from ._common import READ, ReplicaId, ToolSpec, client_of

# Events are read upstream in windows of this size until a page is full.
WINDOW = 200
# Room kept for the summary and the page's own fields.
OVERHEAD = 1_300
MAX_CHARS = 40_000


class Message(Part):
    offset: int
    time: str
    role: str
    kind: str
    text: str
    tool: str | None = None
    cut_chars: int | None = None


class HistoryPage(View):
    replica_id: str
    total: int
    messages: list[Message]
    next_offset: int | None = None
    waking: bool | None = None


async def get_history(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    chat_id: Annotated[str | None, Field(description="Default: all chats.")] = None,
    offset: Annotated[int, Field(ge=0)] = 0,
    limit: Annotated[int, Field(ge=1, le=200)] = 30,
    role: Literal["user", "assistant", "tool", "agent"] | None = None,
    kind: Literal["text", "thinking", "tool_call", "tool_result", "result", "event"]
    | None = None,
    max_chars: Annotated[
        int, Field(ge=100, le=MAX_CHARS, description="Per message.")
    ] = 2_000,
    max_tokens: budget.MaxTokens = budget.DEFAULT_TOKENS,
) -> Annotated[CallToolResult, HistoryPage]:
    """Read a replica's conversation, newest first: what was asked, what the
    agent said and ran. next_offset pages back.
    """
    replica_id = arguments.replica_id(replica_id)
    chat_id = arguments.optional_text(chat_id)
    room = budget.chars(max_tokens) - OVERHEAD
    client = client_of(ctx)
    with tool_errors(replica_id=replica_id, chat_id=chat_id):
        page = await _collect(
            client,
            replica_id,
            chat_id,
            offset=offset,
            limit=limit,
            wanted=(role, kind),
            max_chars=min(max_chars, room),
            room=room,
        )

    more = None
    if page.next_offset is not None:
        more = [
            call(
                "get_history",
                replica_id=replica_id,
                chat_id=chat_id,
                offset=page.next_offset,
                limit=limit if limit != 30 else None,
                role=role,
                kind=kind,
                max_chars=max_chars if max_chars != 2_000 else None,
            )
        ]
    return answer(page, _summary(page, max_chars), next_calls=more)


async def _collect(
    client: ReplicasClient,
    replica_id: str,
    chat_id: str | None,
    *,
    offset: int,
    limit: int,
    wanted: tuple[str | None, str | None],
    max_chars: int,
    room: int,
) -> HistoryPage:
    """Walk back from `offset` until the page is full, out of budget, or done."""
    page = HistoryPage(replica_id=replica_id, total=0, messages=[])
    cursor, used = offset, 0
    while True:
        window = await client.get_history(
            replica_id, chat_id=chat_id, limit=WINDOW, offset=cursor
        )
        page.total = window.total
        page.waking = window.waking or None
        for event in reversed(window.events):
            message = _message(event, cursor, max_chars)
            cursor += 1
            if not _matches(message, wanted):
                continue

            size = len(message.model_dump_json(exclude_none=True)) + 1
            if not page.messages and size > room:
                # Even alone it does not fit: cut it further, so that every
                # page moves the cursor on.
                message, size = _shrunk(message, room)
            if len(page.messages) >= limit or used + size > room:
                page.next_offset = message.offset
                return page

            page.messages.append(message)
            used += size

        if not window.has_more or not window.events:
            return page


def _message(event: HistoryEvent, offset: int, max_chars: int) -> Message:
    reduced = entry(event)
    text, cut = budget.clip(reduced.text, max_chars)
    return Message(
        offset=offset,
        time=event.timestamp.isoformat().replace("+00:00", "Z"),
        role=reduced.role,
        kind=reduced.kind,
        text=text,
        tool=reduced.tool,
        cut_chars=cut or None,
    )


def _shrunk(message: Message, room: int) -> tuple[Message, int]:
    """The message with its text cut so that its JSON fits in `room`."""
    bare = len(message.model_copy(update={"text": ""}).model_dump_json()) + 40
    text = budget.head_that_fits(message.text, max(0, room - bare))
    cut = (message.cut_chars or 0) + len(message.text) - len(text)
    shrunk = message.model_copy(update={"text": text, "cut_chars": cut or None})
    return shrunk, len(shrunk.model_dump_json(exclude_none=True)) + 1


def _matches(message: Message, wanted: tuple[str | None, str | None]) -> bool:
    role, kind = wanted
    role_ok = role is None or message.role.endswith(role)
    return role_ok and (kind is None or message.kind == kind)


def _summary(page: HistoryPage, max_chars: int) -> str:
    if page.waking:
        return "The replica is asleep and waking; its history returns in 30-90 s."

    if not page.messages:
        return f"No matching messages (history has {page.total} events)."

    newest, oldest = page.messages[0].offset, page.messages[-1].offset
    lines = [
        f"{len(page.messages)} messages, newest first (events {newest}-{oldest} "
        f"counted back from the newest, of {page.total})."
    ]
    cut = sum(1 for m in page.messages if m.cut_chars)
    if cut and max_chars < MAX_CHARS:
        lines.append(f"{cut} long messages were cut; raise max_chars to see more.")
    elif cut:
        lines.append(f"{cut} messages are longer than {MAX_CHARS} characters; cut.")

    said = next(
        (m for m in page.messages if m.role == "assistant" and m.kind == "text"), None
    )
    if said is not None:
        lines.append(f"Agent's latest reply on this page: {said.text[:400]}")

    return "\n".join(lines)


TOOLS = [ToolSpec(get_history, "Read history", READ)]
