"""Tools for talking to a replica's agent: messages and chats."""

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ...api.client import RecoveredReceipt
from .. import arguments, budget
from ..arguments import ImageInput
from ..failures import tool_errors
from ..state import AppState
from ..views import ChatView, View, answer, call, chat_view, newest_first
from ._common import (
    DELETE,
    READ,
    WRITE,
    ChatId,
    CodingAgent,
    ModelName,
    PlanMode,
    ReplicaId,
    ToolSpec,
    client_of,
)


class Receipt(View):
    replica_id: str
    status: str
    chat_id: str | None = None
    message_id: str | None = None
    position: int | None = None


class ChatList(View):
    replica_id: str
    chats: list[ChatView]
    waking: bool | None = None
    next_offset: int | None = None


class NewChat(ChatView, View):
    replica_id: str


class DeletedChat(View):
    replica_id: str
    chat_id: str
    deleted: bool


_DELIVERY = {
    "sent": "The agent started on it.",
    "queued": "The agent is busy; the message waits in the queue.",
    "waking": "The replica was asleep and is waking; the message runs after that.",
}


async def send_message(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    message: Annotated[str, Field(description="The follow-up.")],
    chat_id: ChatId = None,
    plan_mode: PlanMode = None,
    images: Annotated[
        list[ImageInput] | None, Field(description="Up to 10 images.")
    ] = None,
    model: ModelName = None,
    coding_agent: CodingAgent = None,
) -> Annotated[CallToolResult, Receipt]:
    """Send a follow-up to a replica's agent; queued if busy, wakes a sleeper."""
    replica_id = arguments.replica_id(replica_id)
    message = arguments.message_text(message)
    chat_id = arguments.optional_text(chat_id)
    with tool_errors(replica_id=replica_id, chat_id=chat_id):
        receipt = await client_of(ctx).send_message(
            replica_id,
            message=message,
            chat_id=chat_id,
            coding_agent=arguments.enum_word(coding_agent, field="coding_agent"),
            model=arguments.optional_text(model),
            plan_mode=plan_mode,
            images=arguments.images(images),
        )

    view = Receipt(replica_id=replica_id, **receipt.model_dump())
    summary = _DELIVERY.get(view.status, f"Delivery status: {view.status}.")
    if isinstance(receipt, RecoveredReceipt):
        where = "history" if receipt.status == "sent" else "queue"
        summary = (
            f"The API's reply was lost, but the message is in the chat's {where}: "
            "it was delivered once; do not send it again."
        )
    if view.position is not None:
        summary = f"{summary} Position {view.position}."

    return answer(
        view,
        summary,
        next_calls=[f"wait_for_replicas(replica_ids=[{replica_id!r}])"],
    )


async def list_chats(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    offset: Annotated[int, Field(ge=0)] = 0,
) -> Annotated[CallToolResult, ChatList]:
    """List a replica's chats (each a conversation with one agent), newest first."""
    replica_id = arguments.replica_id(replica_id)
    with tool_errors(replica_id=replica_id):
        result = await client_of(ctx).list_chats(replica_id)

    chats = [chat_view(chat) for chat in newest_first(result.chats)]
    view = ChatList(replica_id=replica_id, chats=[], waking=result.waking or None)
    used, room = 0, budget.chars(budget.DEFAULT_TOKENS) // 2
    for index in range(offset, len(chats)):
        used += len(chats[index].model_dump_json()) + 1
        if used > room:
            view.next_offset = index
            break
        view.chats.append(chats[index])

    lines = [
        f"{c.id} ({c.agent}, {'working' if c.processing else 'idle'}): {c.title[:80]}"
        for c in view.chats[:30]
    ]
    if view.waking:
        lines.append("The replica is waking; chats may be missing for a minute.")
    more = None
    if view.next_offset is not None:
        lines.append(f"{len(chats) - view.next_offset} more chats.")
        more = [call("list_chats", replica_id=replica_id, offset=view.next_offset)]

    return answer(view, "\n".join(lines) or "No chats yet.", next_calls=more)


async def create_chat(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    provider: Annotated[str, Field(description="claude, codex, cursor, ...")],
    title: str | None = None,
) -> Annotated[CallToolResult, NewChat]:
    """Open a chat in a replica, e.g. for a second agent to review the work."""
    replica_id = arguments.replica_id(replica_id)
    provider = arguments.required_text(provider, field="provider")
    arguments.enum_word(provider, field="provider")
    with tool_errors(replica_id=replica_id):
        chat = await client_of(ctx).create_chat(
            replica_id,
            provider=provider,
            title=arguments.optional_text(title),
        )

    view = NewChat(replica_id=replica_id, **chat_view(chat).model_dump())
    return answer(
        view,
        f"Opened chat {view.id} ({view.agent}).",
        next_calls=[f"send_message(replica_id={replica_id!r}, chat_id={view.id!r})"],
    )


async def delete_chat(
    ctx: Context[AppState],
    replica_id: ReplicaId,
    chat_id: str,
) -> Annotated[CallToolResult, DeletedChat]:
    """Delete a chat and its history; a turn it is running stops."""
    replica_id = arguments.replica_id(replica_id)
    chat_id = arguments.required_text(chat_id, field="chat_id")
    with tool_errors(replica_id=replica_id, chat_id=chat_id):
        await client_of(ctx).delete_chat(replica_id, chat_id)

    view = DeletedChat(replica_id=replica_id, chat_id=chat_id, deleted=True)
    return answer(view, f"Deleted chat {chat_id}.")


TOOLS = [
    ToolSpec(send_message, "Send message", WRITE),
    ToolSpec(list_chats, "List chats", READ),
    ToolSpec(create_chat, "Create chat", WRITE),
    ToolSpec(delete_chat, "Delete chat", DELETE),
]
