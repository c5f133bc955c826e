"""Every MCP tool, grouped by what it works on."""

from . import chats, diffs, history, hooks, replicas, waiting
from ._common import ToolSpec

ALL_TOOLS: list[ToolSpec] = [
    *replicas.TOOLS,
    *waiting.TOOLS,
    *chats.TOOLS,
    *history.TOOLS,
    *diffs.TOOLS,
    *hooks.TOOLS,
]

__all__ = ["ALL_TOOLS", "ToolSpec"]
