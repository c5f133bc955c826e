"""`build_server`: the Replicas MCP server, assembled."""

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer

from .._version import __version__
from ..api import ReplicasClient
from ..config import Settings
from .resources import register_resources
from .state import AppState
from .tools import register_tools

INSTRUCTIONS = """\
Delegate coding tasks to Replicas cloud agents. Workflow: list_repositories to \
pick a repository, repository set or environment; create_replica with a clear \
task; get_replica until no chat is processing (the agent's turn is done); then \
get_history for what the agent said and the replica's diffs resource or \
get_replica with include=diffs for what it changed. send_message continues the \
work in the same replica. Setup problems show in get_hooks."""

# httpx2 logs every request URL at INFO; that is noise on a stdio server's
# stderr and may carry ids a user would rather not see in host logs.
logging.getLogger("httpx2").setLevel(logging.WARNING)


def build_server(
    settings: Settings | None = None, *, client: ReplicasClient | None = None
) -> MCPServer[AppState]:
    """Build the MCP server.

    Pass `client` to share an existing `ReplicasClient` (the caller closes
    it); otherwise one is built from `settings` (or the environment) and
    closed when the server stops.
    """
    if client is None:
        owned = ReplicasClient.from_settings(settings or Settings())
    else:
        owned = None

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncGenerator[AppState]:
        if owned is None:
            assert client is not None
            yield AppState(client=client)
            return

        async with owned:
            yield AppState(client=owned)

    mcp = MCPServer(
        "replicas",
        title="Replicas",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="WARNING",
    )
    register_tools(mcp)
    register_resources(mcp)
    return mcp
