"""The installed command, spawned the way an MCP host spawns it."""

import json
import os
import subprocess
import sys
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import TextResourceContents

pytestmark = pytest.mark.anyio

SERVE_EMULATOR = ["-m", "replicas_mcp", "serve", "--emulator"]


async def test_a_host_can_delegate_over_stdio_against_the_embedded_emulator() -> None:
    server = StdioServerParameters(command=sys.executable, args=SERVE_EMULATOR)

    with anyio.fail_after(30):
        async with Client(server) as client:
            catalog = (
                await client.call_tool("list_repositories", {})
            ).structured_content
            assert catalog is not None
            created = await client.call_tool(
                "create_replica",
                {
                    "name": "stdio-test",
                    "message": "Add a changelog",
                    "repository_ids": [catalog["repositories"][0]["id"]],
                },
            )
            assert not created.is_error and created.structured_content
            replica_id = created.structured_content["id"]
            await _wait_for_diff(client, replica_id)


async def _wait_for_diff(client: Client, replica_id: str) -> None:
    uri = f"replicas://replica/{replica_id}/diffs"
    while True:
        read = await client.read_resource(uri)
        content = read.contents[0]
        assert isinstance(content, TextResourceContents)
        if content.text.startswith("diff --git"):
            return
        await anyio.sleep(0.1)


async def test_stdout_carries_nothing_but_json_rpc() -> None:
    """Every line the server writes to stdout parses as a JSON-RPC message."""
    requests = [
        _request(1, "initialize", _INITIALIZE),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        _request(2, "tools/list", {}),
        _request(3, "tools/call", {"name": "list_repositories", "arguments": {}}),
        _request(
            4, "tools/call", {"name": "get_replica", "arguments": {"replica_id": "x"}}
        ),
        _request(5, "tools/call", {"name": "no_such_tool", "arguments": {}}),
    ]

    lines = await _exchange(SERVE_EMULATOR, requests)

    messages = [json.loads(line) for line in lines]
    assert all(message["jsonrpc"] == "2.0" for message in messages)
    by_id = {m.get("id"): m for m in messages}
    assert not by_id[3]["result"].get("isError")
    assert by_id[4]["result"]["isError"] is True


async def test_a_missing_key_still_starts_and_explains_itself() -> None:
    requests = [
        _request(1, "initialize", _INITIALIZE),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        _request(2, "tools/call", {"name": "list_replicas", "arguments": {}}),
    ]

    lines = await _exchange(["-m", "replicas_mcp"], requests)

    answer = [json.loads(line) for line in lines][-1]
    assert answer["result"]["isError"] is True
    assert "REPLICAS_API_KEY" in answer["result"]["content"][0]["text"]


async def test_a_bad_setting_still_starts_and_names_the_variable() -> None:
    """A host shows tool errors to its user; a server that exits shows nothing."""
    requests = [
        _request(1, "initialize", _INITIALIZE),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        _request(2, "tools/call", {"name": "list_replicas", "arguments": {}}),
    ]

    lines = await _exchange(
        ["-m", "replicas_mcp"], requests, env={"REPLICAS_BASE_URL": "api.example"}
    )

    answer = [json.loads(line) for line in lines][-1]
    assert answer["result"]["isError"] is True
    assert "REPLICAS_BASE_URL" in answer["result"]["content"][0]["text"]


_INITIALIZE = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "stdout-check", "version": "0"},
}


def _request(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICAS_")}
    return env | {"PYTHONUNBUFFERED": "1"}


async def _exchange(
    args: list[str],
    requests: list[dict[str, Any]],
    *,
    env: dict[str, str] | None = None,
) -> list[str]:
    """Send the requests and collect stdout lines until each one is answered."""
    expected = {request["id"] for request in requests if "id" in request}
    lines: list[str] = []
    async with await anyio.open_process(
        [sys.executable, *args],
        env=_clean_env() | (env or {}),
        stderr=subprocess.DEVNULL,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        with anyio.fail_after(30):
            for request in requests:
                await process.stdin.send((json.dumps(request) + "\n").encode())
            buffer = b""
            async for chunk in process.stdout:
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                lines.extend(line.decode() for line in complete if line.strip())
                if expected <= {json.loads(line).get("id") for line in lines}:
                    break
        await process.stdin.aclose()
        with anyio.fail_after(10):
            await process.wait()

    return lines
