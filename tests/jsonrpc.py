"""Talk raw JSON-RPC to a spawned server, keeping stdout and stderr apart."""

import json
import os
import subprocess
import sys
from typing import Any

import anyio

INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "0"},
    },
}
INITIALIZED: dict[str, Any] = {"jsonrpc": "2.0", "method": "notifications/initialized"}
# What a streamable HTTP client must accept in a raw POST.
ACCEPT = {"Accept": "application/json, text/event-stream"}


def call(request_id: int, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    params = {"name": tool, "arguments": arguments}
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": params,
    }


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without REPLICAS_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICAS_")}
    return env | {"PYTHONUNBUFFERED": "1"} | extra


async def exchange(
    args: list[str],
    requests: list[dict[str, Any]],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[list[str], str]:
    """Send `requests` to `python *args`; return stdout lines once all are answered.

    Also returns everything the server wrote to stderr.
    """
    expected = {request["id"] for request in requests if "id" in request}
    lines: list[str] = []
    command = [sys.executable, *args]
    async with await anyio.open_process(
        command, env=env or clean_env(), stderr=subprocess.PIPE
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        with anyio.fail_after(timeout):
            for request in requests:
                await process.stdin.send((json.dumps(request) + "\n").encode())
            buffer = b""
            async for chunk in process.stdout:
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                lines += [line.decode() for line in complete if line.strip()]
                answered = {json.loads(line).get("id") for line in lines}
                if expected <= answered:
                    break
        await process.stdin.aclose()
        with anyio.fail_after(10):
            await process.wait()
        stderr = b""
        async for chunk in process.stderr:
            stderr += chunk

    return lines, stderr.decode(errors="replace")
