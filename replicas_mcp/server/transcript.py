"""Render agent history events (Claude, Codex, others) as short readable entries."""

import json
from dataclasses import dataclass
from typing import Any, cast

from ..models import HistoryEvent

Json = dict[str, Any]


@dataclass(frozen=True)
class Entry:
    """One history event reduced to who said what."""

    role: str
    kind: str
    text: str
    tool: str | None = None
    target: str | None = None
    """For a tool call, what it works on: a command, a file, a pattern."""


def entry(event: HistoryEvent) -> Entry:
    """Reduce an event of any agent to an entry; unknown shapes become raw JSON."""
    payload = event.payload
    if event.type in ("claude-user", "claude-assistant"):
        return _claude_message(event.type.removeprefix("claude-"), payload)

    if event.type == "claude-result":
        return _claude_result(payload)

    if event.type == "event_msg":
        return _codex_event(payload)

    if event.type == "response_item":
        return _codex_item(payload)

    return Entry("agent", "event", f"{event.type} {_compact(payload)}")


def _claude_message(role: str, payload: Json) -> Entry:
    message = _dict(payload.get("message"))
    blocks = [_dict(b) for b in _list(message.get("content"))]
    parts: list[str] = []
    kind, tool, target = "text", None, None
    for block in blocks:
        block_type = block.get("type")
        if block_type == "text":
            parts.append(str(block.get("text", "")))
        elif block_type == "thinking":
            kind = "thinking" if kind == "text" and not parts else kind
            parts.append(str(block.get("thinking") or block.get("text") or ""))
        elif block_type == "tool_use":
            kind, tool = "tool_call", str(block.get("name", ""))
            target = _target(block.get("input"))
            parts.append(f"{tool} {_compact(block.get('input'))}")
        elif block_type == "tool_result":
            kind, role = "tool_result", "tool"
            parts.append(_tool_output(block.get("content")))
        elif block_type == "image":
            parts.append("[image]")

    if payload.get("parent_tool_use_id"):
        role = f"sub-agent {role}"

    return Entry(role, kind, "\n".join(p for p in parts if p), tool, target)


def _claude_result(payload: Json) -> Entry:
    subtype = str(payload.get("subtype", ""))
    outcome = "finished" if subtype == "success" else f"failed ({subtype})"
    errors = [str(e) for e in _list(payload.get("errors"))]
    detail = f": {'; '.join(errors)}" if errors else ""
    return Entry("agent", "result", f"turn {outcome}{detail}")


def _codex_event(payload: Json) -> Entry:
    kind = payload.get("type")
    if kind == "user_message":
        return Entry("user", "text", str(payload.get("message", "")))

    if kind == "agent_reasoning":
        return Entry("assistant", "thinking", str(payload.get("text", "")))

    return Entry("agent", "event", f"event_msg {_compact(payload)}")


def _codex_item(payload: Json) -> Entry:
    kind = payload.get("type")
    if kind == "message":
        texts = [str(_dict(c).get("text", "")) for c in _list(payload.get("content"))]
        return Entry(str(payload.get("role", "assistant")), "text", "\n".join(texts))

    if kind in ("function_call", "custom_tool_call"):
        name = str(payload.get("name", ""))
        arguments = payload.get("arguments", payload.get("input", ""))
        try:
            target = _target(json.loads(arguments))
        except (TypeError, ValueError):
            target = None
        return Entry("assistant", "tool_call", f"{name} {arguments}", name, target)

    if kind in ("function_call_output", "custom_tool_call_output"):
        return Entry("tool", "tool_result", _tool_output(payload.get("output")))

    return Entry("agent", "event", f"response_item {_compact(payload)}")


def _target(arguments: Any) -> str | None:
    """The part of a tool call's input that says what it touches."""
    inputs = _dict(arguments)
    for key in ("command", "cmd", "file_path", "path", "pattern", "url", "description"):
        value = inputs.get(key)
        if isinstance(value, list):
            value = " ".join(str(part) for part in cast(list[Any], value))
        if value:
            return str(value)[:100]

    return None


def _tool_output(content: Any) -> str:
    if isinstance(content, str):
        return content

    texts = [str(_dict(part).get("text", "")) for part in _list(content)]
    return "\n".join(texts) if texts else _compact(content)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _dict(value: Any) -> Json:
    return cast(Json, value) if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return cast(list[Any], value) if isinstance(value, list) else []
