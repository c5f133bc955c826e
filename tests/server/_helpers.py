"""Small helpers shared by the MCP-level tests."""

import struct
import zlib
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, TextContent

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def ok(client: Client, tool: str, arguments: dict[str, Any]) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, text_of(result)
    return text_of(result)


async def create(client: Client, **overrides: Any) -> dict[str, Any]:
    catalog = await ok(client, "list_repositories", {})
    arguments = {
        "name": "tool-test",
        "message": "Add input validation to the signup form",
        "repository_ids": [catalog["repositories"][0]["id"]],
    }
    return await ok(client, "create_replica", arguments | overrides)


def tiny_png() -> bytes:
    """A real 1x1 PNG, made here so no binary file is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )
