"""The installed command, spawned the way an MCP host spawns it."""

import json
import sys
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import TextResourceContents

from .jsonrpc import INITIALIZE, INITIALIZED, call, clean_env, exchange

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
    requests: list[dict[str, Any]] = [
        INITIALIZE,
        INITIALIZED,
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
        call(3, "list_repositories", {}),
        call(4, "get_replica", {"replica_id": "x"}),
        call(5, "no_such_tool", {}),
    ]

    lines, _ = await exchange(SERVE_EMULATOR, requests)

    messages = [json.loads(line) for line in lines]
    assert all(message["jsonrpc"] == "2.0" for message in messages)
    by_id = {m.get("id"): m for m in messages}
    assert not by_id[3]["result"].get("isError")
    assert by_id[4]["result"]["isError"] is True


async def test_a_missing_key_still_starts_and_explains_itself() -> None:
    requests = [
        INITIALIZE,
        INITIALIZED,
        call(2, "list_replicas", {}),
    ]

    lines, _ = await exchange(["-m", "replicas_mcp"], requests)

    answer = [json.loads(line) for line in lines][-1]
    assert answer["result"]["isError"] is True
    assert "REPLICAS_API_KEY" in answer["result"]["content"][0]["text"]


async def test_a_bad_setting_still_starts_and_names_the_variable() -> None:
    """A host shows tool errors to its user; a server that exits shows nothing."""
    requests = [
        INITIALIZE,
        INITIALIZED,
        call(2, "list_replicas", {}),
    ]

    env = clean_env(REPLICAS_BASE_URL="api.example")
    lines, _ = await exchange(["-m", "replicas_mcp"], requests, env=env)

    answer = [json.loads(line) for line in lines][-1]
    assert answer["result"]["isError"] is True
    assert "REPLICAS_BASE_URL" in answer["result"]["content"][0]["text"]


@pytest.mark.parametrize(
    ("variable", "says"),
    [
        ("REPLICAS_TIMEOUT=soon", "use a number of seconds"),
        ("REPLICAS_TIMEOUT=nan", "finite number"),
        ("REPLICAS_BASE_URL=http://", "names no host"),
    ],
)
async def test_a_bad_value_says_what_to_write_instead(variable: str, says: str) -> None:
    name, _, value = variable.partition("=")
    requests = [INITIALIZE, INITIALIZED, call(2, "list_replicas", {})]

    env = clean_env(**{name: value})
    lines, _ = await exchange(["-m", "replicas_mcp"], requests, env=env)

    answer = [json.loads(line) for line in lines][-1]
    assert name in answer["result"]["content"][0]["text"]
    assert says in answer["result"]["content"][0]["text"]


@pytest.mark.parametrize("flag", ["--stateless", "--workers=2"])
async def test_http_only_flags_are_refused_over_stdio(flag: str) -> None:
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, "-m", "replicas_mcp", "serve", flag],
            check=False,
            env=clean_env(),
        )

    assert done.returncode == 2
    assert "only to --transport http" in done.stderr.decode()
