"""Render the simulated agent's steps as each provider's AgentEvents (§8.4).

Claude chats get the Claude Code shape and Codex chats the Codex shape. Cursor,
OpenCode and Pi chats use their own event type names (`cursor-*`, `opencode-*`,
`pi-*`) around Claude-style payloads; an unknown provider (only possible with
`strict_enums=False`) gets `<provider>-*` types with the same payloads.

A plan waiting for approval is an open tool call: Claude's `ExitPlanMode`
tool use, Codex's `update_plan` function call (the others: an `ExitPlanMode`
tool event without a result). The user's reply later arrives as its result.
"""

import difflib
import json
from collections.abc import Sequence
from typing import Any

from .agent import AskApproval, PlanAnswer, Said, Step, Thought, ToolUse, TurnScript

Json = dict[str, Any]
RawEvent = tuple[str, Json]
"""An AgentEvent without its timestamp: `(type, payload)`."""

_CLAUDE_TOOLS = {"read": "Read", "edit": "Edit", "write": "Write", "shell": "Bash"}
_PLAN_TOOL = "ExitPlanMode"
_NATIVE_TYPES = {
    "cursor": {
        "user": "cursor-task",
        "thinking": "cursor-thinking",
        "tool": "cursor-tool_call",
        "text": "cursor-assistant",
        "done": "cursor-status",
    },
    "opencode": {
        "user": "opencode-message.updated",
        "thinking": "opencode-part-reasoning",
        "tool": "opencode-part-tool",
        "text": "opencode-part-text",
        "done": "opencode-session.idle",
    },
    "pi": {
        "user": "pi-agent_start",
        "thinking": "pi-message_update",
        "tool": "pi-tool_execution_end",
        "text": "pi-message_update",
        "done": "pi-agent_end",
    },
}


def edit_snippets(old: str, new: str) -> tuple[str, str]:
    """Return the smallest `(old_string, new_string)` pair an Edit tool would use."""
    before = old.splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # An insertion needs an anchor line so that old_string is not empty.
        if i1 == i2:
            i2 = min(i1 + 1, len(before))
            j2 = j2 + (i2 - i1)
        return "".join(before[i1:i2]), "".join(after[j1:j2])

    return "", ""


def _shell_command(step: ToolUse) -> str:
    if step.kind == "read":
        return f"sed -n '1,200p' {step.path}"
    return step.command or ""


def _apply_patch(step: ToolUse) -> str:
    if step.kind == "write":
        added = "".join(f"+{line}\n" for line in (step.new or "").splitlines())
        return f"*** Begin Patch\n*** Add File: {step.path}\n{added}*** End Patch\n"

    old, new = edit_snippets(step.old or "", step.new or "")
    removed = "".join(f"-{line}\n" for line in old.splitlines())
    added = "".join(f"+{line}\n" for line in new.splitlines())
    return (
        f"*** Begin Patch\n*** Update File: {step.path}\n@@\n"
        f"{removed}{added}*** End Patch\n"
    )


def _claude_input(step: ToolUse) -> Json:
    if step.kind == "read":
        return {"file_path": step.path}
    if step.kind == "write":
        return {"file_path": step.path, "content": step.new}
    if step.kind == "edit":
        old, new = edit_snippets(step.old or "", step.new or "")
        return {"file_path": step.path, "old_string": old, "new_string": new}
    return {"command": step.command, "description": f"Run {step.command}"}


class ClaudeRenderer:
    """Claude Code stream-json messages."""

    def __init__(self, session_id: str, model: str) -> None:
        self._session_id = session_id
        self._model = model

    def _assistant(self, block: Json) -> RawEvent:
        message = {"role": "assistant", "model": self._model, "content": [block]}
        return "claude-assistant", self._payload("assistant", message)

    def _payload(self, kind: str, message: Json) -> Json:
        return {
            "type": kind,
            "message": message,
            "parent_tool_use_id": None,
            "session_id": self._session_id,
        }

    def user(self, text: str, images: Sequence[Json]) -> list[RawEvent]:
        """Render the user's prompt (images become image content blocks)."""
        content: list[Json] = [{"type": "text", "text": text}, *images]
        message = {"role": "user", "content": content}
        return [("claude-user", self._payload("user", message))]

    def step(self, step: Step) -> list[RawEvent]:
        """Render one step of the agent."""
        if isinstance(step, Thought):
            return [self._assistant({"type": "thinking", "text": step.text})]
        if isinstance(step, Said):
            return [self._assistant({"type": "text", "text": step.text})]
        if isinstance(step, AskApproval):
            return [self._assistant(_plan_tool_use(step))]
        if isinstance(step, PlanAnswer):
            message = {"role": "user", "content": [_plan_tool_result(step)]}
            return [("claude-user", self._payload("user", message))]

        name = _CLAUDE_TOOLS[step.kind]
        use: Json = {"type": "tool_use", "id": step.call_id, "name": name}
        use["input"] = _claude_input(step)
        result = {
            "type": "tool_result",
            "tool_use_id": step.call_id,
            "content": step.output,
            "is_error": False,
        }
        message = {"role": "user", "content": [result]}
        return [self._assistant(use), ("claude-user", self._payload("user", message))]

    def finish(self, script: TurnScript, duration_ms: int) -> list[RawEvent]:
        """Render the closing result message of a successful turn."""
        payload = {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "duration_ms": duration_ms,
            "num_turns": len(script.steps),
            "result": script.summary,
            "session_id": self._session_id,
        }
        return [("claude-result", payload)]


class CodexRenderer:
    """Codex rollout items: `event_msg` and `response_item`."""

    def user(self, text: str, images: Sequence[Json]) -> list[RawEvent]:
        """Render the user's prompt; images go in as URLs or data URLs."""
        payload: Json = {"type": "user_message", "message": text}
        if images:
            payload["images"] = [_image_url(image) for image in images]
        return [("event_msg", payload)]

    def step(self, step: Step) -> list[RawEvent]:
        """Render one step of the agent."""
        if isinstance(step, Thought):
            return [("event_msg", {"type": "agent_reasoning", "text": step.text})]
        if isinstance(step, Said):
            content = [{"type": "output_text", "text": step.text}]
            item = {"type": "message", "role": "assistant", "content": content}
            return [("response_item", item)]
        if isinstance(step, AskApproval):
            return [("response_item", _update_plan_call(step))]
        if isinstance(step, PlanAnswer):
            code = 0 if step.approved else 1
            output = {"output": step.note, "metadata": {"exit_code": code}}
            result = {
                "type": "function_call_output",
                "call_id": step.call_id,
                "output": json.dumps(output),
            }
            return [("response_item", result)]
        if step.kind in ("edit", "write"):
            return self._patch(step)

        return self._shell(step)

    def _shell(self, step: ToolUse) -> list[RawEvent]:
        arguments = {"command": ["bash", "-lc", _shell_command(step)]}
        call = {
            "type": "function_call",
            "call_id": step.call_id,
            "name": "shell",
            "arguments": json.dumps(arguments),
        }
        output = {"output": step.output, "metadata": {"exit_code": 0}}
        result = {
            "type": "function_call_output",
            "call_id": step.call_id,
            "output": json.dumps(output),
        }
        return [("response_item", call), ("response_item", result)]

    def _patch(self, step: ToolUse) -> list[RawEvent]:
        call = {
            "type": "custom_tool_call",
            "call_id": step.call_id,
            "name": "apply_patch",
            "input": _apply_patch(step),
            "status": "completed",
        }
        output = {"output": f"Success. {step.output}\n", "metadata": {"exit_code": 0}}
        result = {
            "type": "custom_tool_call_output",
            "call_id": step.call_id,
            "output": json.dumps(output),
        }
        return [("response_item", call), ("response_item", result)]

    def finish(self, script: TurnScript, duration_ms: int) -> list[RawEvent]:
        """Codex ends a turn with its last message; nothing more to emit."""
        return []


class NativeRenderer:
    """Provider-prefixed event types around Claude-style payloads."""

    def __init__(self, provider: str) -> None:
        self._types = _NATIVE_TYPES.get(provider) or {
            kind: f"{provider}-{kind}"
            for kind in ("user", "thinking", "tool", "text", "done")
        }

    def _event(self, kind: str, role: str, block: Json) -> RawEvent:
        message = {"role": role, "content": [block]}
        return self._types[kind], {"type": kind, "message": message}

    def user(self, text: str, images: Sequence[Json]) -> list[RawEvent]:
        """Render the user's prompt."""
        content: list[Json] = [{"type": "text", "text": text}, *images]
        payload = {"type": "user", "message": {"role": "user", "content": content}}
        return [(self._types["user"], payload)]

    def step(self, step: Step) -> list[RawEvent]:
        """Render one step of the agent."""
        if isinstance(step, Thought):
            return [self._event("thinking", "assistant", _thinking(step.text))]
        if isinstance(step, Said):
            return [self._event("text", "assistant", _text(step.text))]
        if isinstance(step, AskApproval):
            return [self._event("tool", "assistant", _plan_tool_use(step))]
        if isinstance(step, PlanAnswer):
            return [self._event("tool", "user", _plan_tool_result(step))]

        use: Json = {
            "type": "tool_use",
            "id": step.call_id,
            "name": _CLAUDE_TOOLS[step.kind],
            "input": _claude_input(step),
        }
        result = {
            "type": "tool_result",
            "tool_use_id": step.call_id,
            "content": step.output,
        }
        event_type, payload = self._event("tool", "assistant", use)
        payload["result"] = result
        return [(event_type, payload)]

    def finish(self, script: TurnScript, duration_ms: int) -> list[RawEvent]:
        """Report that the agent went idle."""
        payload = {"type": "done", "status": "completed", "duration_ms": duration_ms}
        return [(self._types["done"], payload)]


Renderer = ClaudeRenderer | CodexRenderer | NativeRenderer


def renderer_for(provider: str, thread_id: str, model: str) -> Renderer:
    """Return the renderer for a chat's provider."""
    if provider == "claude":
        return ClaudeRenderer(thread_id, model)
    if provider == "codex":
        return CodexRenderer()
    return NativeRenderer(provider)


def _plan_tool_use(step: AskApproval) -> Json:
    return {
        "type": "tool_use",
        "id": step.call_id,
        "name": _PLAN_TOOL,
        "input": {"plan": step.plan},
    }


def _plan_tool_result(step: PlanAnswer) -> Json:
    # A reply that asks for changes comes back as a refused tool call.
    return {
        "type": "tool_result",
        "tool_use_id": step.call_id,
        "content": step.note,
        "is_error": not step.approved,
    }


def _update_plan_call(step: AskApproval) -> Json:
    # Codex has no approval tool; its plan tool carries the steps, and the call
    # stays without output until the user replies.
    plan = [{"step": text, "status": "pending"} for text in step.steps]
    arguments = {"explanation": step.plan, "plan": plan}
    return {
        "type": "function_call",
        "call_id": step.call_id,
        "name": "update_plan",
        "arguments": json.dumps(arguments),
    }


def _text(text: str) -> Json:
    return {"type": "text", "text": text}


def _thinking(text: str) -> Json:
    return {"type": "thinking", "text": text}


def _image_url(image: Json) -> str:
    source: Json = image["source"]
    if source["type"] == "url":
        return str(source["url"])
    return f"data:{source['media_type']};base64,{source['data']}"
