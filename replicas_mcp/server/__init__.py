"""The MCP server: tools and resources over the Replicas API."""

from .app import INSTRUCTIONS, ReplicasServer, build_server, select_tools
from .state import AppState

__all__ = [
    "INSTRUCTIONS",
    "AppState",
    "ReplicasServer",
    "build_server",
    "select_tools",
]
