"""The reference for bench/run.py: a bare SDK `MCPServer` with one `echo` tool.

python bench/ref_echo_server.py            # stdio
python bench/ref_echo_server.py http PORT  # streamable HTTP on 127.0.0.1:PORT/mcp
"""

import sys

from mcp.server import MCPServer

server = MCPServer("echo-reference", log_level="WARNING")


@server.tool()
def echo(message: str) -> str:
    """Return the message unchanged."""
    return message


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "http":
        server.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
