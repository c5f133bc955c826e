"""`logging/setLevel` for 2025-11-25 clients.

The server sends no log notifications (its logs go to stderr, and the
2026-07-28 revision deprecates protocol logging), but a 2025 client may set a
level, and a server that refuses leaves it unsure whether logging exists. So
the level is accepted and remembered per connection, which is also what
declares the `logging` capability to such clients.
"""

from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import EmptyResult, SetLevelRequestParams

from .state import AppState

LEVEL_KEY = "replicas_mcp.log_level"


def register_log_level(server: MCPServer[AppState]) -> None:
    """Answer `logging/setLevel` by remembering the level for the connection."""

    async def set_level(
        ctx: ServerRequestContext[AppState, Any], params: SetLevelRequestParams
    ) -> EmptyResult:
        # The connection is not public on the request context in 2.3.0.
        connection = ctx.session._connection  # pyright: ignore[reportPrivateUsage]
        connection.state[LEVEL_KEY] = params.level
        return EmptyResult()

    # As with subscriptions, MCPServer 2.3.0 offers only its low-level server.
    lowlevel = server._lowlevel_server  # pyright: ignore[reportPrivateUsage]
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
