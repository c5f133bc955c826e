"""Serving over stdio with stdout kept for the protocol from the first moment.

The SDK diverts stray stdout to stderr only once it starts serving; anything
printed before that (while settings load, the server is built, an embedded
emulator starts) would corrupt the stream a host reads. So the command claims
file descriptor 1 as its first act and serves the protocol from a private copy.
"""

import io
import os
import sys
from typing import Any, BinaryIO

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

_claimed: list[BinaryIO] = []


def claim_stdout() -> BinaryIO:
    """Keep the real stdout for the protocol; send fd 1 and `print` to stderr.

    Claiming twice returns the first claim.
    """
    if _claimed:
        return _claimed[0]

    sys.stdout.flush()
    wire = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _claimed.append(os.fdopen(wire, "wb", buffering=0))
    return _claimed[0]


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Run `server` over stdin and the claimed stdout until stdin closes."""
    wire = claim_stdout()
    text = io.TextIOWrapper(wire, encoding="utf-8", newline="\n", write_through=True)
    async with stdio_server(stdout=anyio.wrap_file(text)) as (read, write):
        # MCPServer.run_stdio_async() opens the standard streams itself; its
        # low-level server runs on the streams given.
        lowlevel = server._lowlevel_server  # pyright: ignore[reportPrivateUsage]
        await lowlevel.run(read, write, lowlevel.create_initialization_options())
