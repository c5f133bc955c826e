"""The conversation tool: newest first, trimmed per message, paged by offset."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ...api import ReplicasClient
from ...models import HistoryEvent
from .. import arguments, budget
from ..failures import tool_errors
from ..state import AppState
from ..transcript import entry
from ..views import View, answer
from ._common import READ, ReplicaId, ToolSpec, client_of

# Events are read upstream in windows of this size until a page is full.
WINDOW = 200
# Room kept for the summary and the page's own fields.
OVERHEAD = 800


class Message(BaseModel):
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
    chat_id: Annotated[
        str | None, Field(description="Only this chat; default: every chat.")
    ] = None,
    offset: Annotated[
        int, Field(ge=0, description="Skip this many newest events (next_offset).")
    ] = 0,
    limit: Annotated[int, Field(ge=1, le=200, description="Most messages.")] = 30,
    role: Annotated[
        Literal["user", "assistant", "tool", "agent"] | None,
        Field(description="Only messages of this role."),
    ] = None,
    kind: Annotated[
        Literal["text", "thinking", "tool_call", "tool_result", "result", "event"]
        | None,
        Field(description="Only messages of this kind."),
    ] = None,
    max_chars: Annotated[
        int, Field(ge=100, le=40_000, description="Cut each message to this length.")
    ] = 2_000,
    max_tokens: budget.MaxTokens = budget.DEFAULT_TOKENS,
) -> Annotated[CallToolResult, HistoryPage]:
    """Read a replica's conversation, newest first: what was asked, what the agent
    said, thought and ran.

    Long messages are cut; next_offset pages back in time.
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

    return answer(page, _summary(page, offset), next_calls=_next(page, replica_id))


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


def _matches(message: Message, wanted: tuple[str | None, str | None]) -> bool:
    role, kind = wanted
    role_ok = role is None or message.role.endswith(role)
    return role_ok and (kind is None or message.kind == kind)


def _summary(page: HistoryPage, offset: int) -> str:
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
    if cut:
        lines.append(f"{cut} long messages were cut; raise max_chars to see more.")
    if offset == 0 and page.messages[0].kind == "result":
        lines.append(f"Latest: {page.messages[0].text}.")

    return "\n".join(lines)


def _next(page: HistoryPage, replica_id: str) -> list[str] | None:
    if page.next_offset is None:
        return None

    return [f"get_history(replica_id={replica_id!r}, offset={page.next_offset})"]


TOOLS = [ToolSpec(get_history, "Read history", READ)]
