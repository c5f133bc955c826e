"""How big are answers about huge replicas, and how many pages read them whole?

Starts the emulator with its large replicas (a 3 MB diff, a 5,000-event history,
a 50,000-line hook log) and reports, per monster, the largest tool answer in
bytes as a host receives it, with default and with maximum arguments, and the
number of calls that read it to the end by following the cursors. Also prints
the size of the tools/list answer.

    python bench/answer_sizes.py
"""

import json
from typing import Any

import anyio
from mcp import Client
from mcp.types import CallToolResult

from replicas_mcp.api import ReplicasClient
from replicas_mcp.emulator import EmulatorConfig, EmulatorServer, large_replica_ids
from replicas_mcp.server import build_server

KEY = "sk_replicas_sizes"
MOST = {"max_tokens": 20_000}


def _size(result: CallToolResult) -> int:
    return len(result.model_dump_json(by_alias=True, exclude_none=True))


async def _pages(
    client: Client, tool: str, arguments: dict[str, Any], cursor: str, key: str
) -> tuple[int, int]:
    """Follow `cursor` from the first page to the last; (pages, largest answer)."""
    pages, largest, position = 0, 0, 0
    while position is not None:
        result = await client.call_tool(tool, arguments | {key: position})
        assert not result.is_error, result
        pages += 1
        largest = max(largest, _size(result))
        data = result.structured_content or {}
        position = data.get(cursor)
        if tool == "get_hooks":
            # Follow the longest log; the hook's small namesakes end at once.
            run = max(data["hooks"], key=lambda run: run["lines"])
            first = run["first_line"]
            position = None if first == 1 else run["lines"] - first + 1
    return pages, largest


async def main() -> None:
    config = EmulatorConfig(api_keys={KEY: "acme"}, large_replicas=True)
    ids = large_replica_ids("acme")
    async with EmulatorServer(config) as emulator:
        async with ReplicasClient(api_key=KEY, base_url=emulator.base_url) as api:
            async with Client(build_server(client=api)) as client:
                tools = (await client.list_tools()).tools
                listed = [
                    t.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for t in tools
                ]
                size = len(json.dumps({"tools": listed}, separators=(",", ":")))
                print(f"tools/list: {len(tools)} tools, {size} bytes of JSON")

                cases = [
                    (
                        "diff patch",
                        "get_diff",
                        {"replica_id": ids["large-diff"], "mode": "patch"},
                        "next_offset",
                        "offset",
                    ),
                    (
                        "diff files",
                        "get_diff",
                        {"replica_id": ids["large-diff"], "mode": "files"},
                        "next_offset",
                        "offset",
                    ),
                    (
                        "history",
                        "get_history",
                        {"replica_id": ids["large-history"], "limit": 200},
                        "next_offset",
                        "offset",
                    ),
                    (
                        "hook log",
                        "get_hooks",
                        {
                            "replica_id": ids["large-hooks"],
                            "hook": "acme/web",
                            "tail": 5000,
                        },
                        "",
                        "skip",
                    ),
                ]
                for label, tool, arguments, cursor, key in cases:
                    extra = {"max_chars": 40_000} if tool == "get_history" else {}
                    default = await _pages(client, tool, arguments, cursor, key)
                    most = await _pages(
                        client, tool, arguments | MOST | extra, cursor, key
                    )
                    print(
                        f"{label}: default {default[1]} bytes, {default[0]} pages; "
                        f"max_tokens=20000 {most[1]} bytes, {most[0]} pages"
                    )


if __name__ == "__main__":
    anyio.run(main)
