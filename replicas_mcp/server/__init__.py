"""The MCP server: tools and resources over the Replicas API."""

from .app import INSTRUCTIONS, build_server
from .state import AppState

__all__ = ["INSTRUCTIONS", "AppState", "build_server"]
