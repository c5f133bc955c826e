"""The API key never leaves in anything the server says, whatever goes wrong."""

from typing import Any

import pytest

from replicas_mcp.emulator import EmulatorConfig, EmulatorServer

from .jsonrpc import INITIALIZE, INITIALIZED, call, clean_env, exchange

pytestmark = pytest.mark.anyio

CANARY = "sk_replicas_CANARY_7f3a9c"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
# Faults across reads and writes: statuses, HTML, garbage, resets, lost replies.
FAULTS = (
    "GET /v1/replica:status=503",
    "GET /v1/replica/repositories:html=502",
    "GET /v1/replica/repository-sets:malformed",
    "GET /v1/replica/*/history:drop",
    "GET /v1/replica/*/hooks:status=429:retry_after=1",
    "POST /v1/replica:lose=502",
    "POST /v1/replica/*/messages:drop",
)
SCRIPT: list[tuple[str, dict[str, Any]]] = [
    ("list_replicas", {}),
    ("list_repositories", {}),
    ("get_replica", {"replica_id": UNKNOWN_ID}),
    ("get_history", {"replica_id": UNKNOWN_ID}),
    ("get_hooks", {"replica_id": UNKNOWN_ID}),
    ("get_diff", {"replica_id": UNKNOWN_ID}),
    ("send_message", {"replica_id": UNKNOWN_ID, "message": "hi"}),
    ("create_replica", {"name": "n", "message": "m", "repository_ids": [UNKNOWN_ID]}),
    ("wait_for_replicas", {"replica_ids": [UNKNOWN_ID], "timeout": 2}),
    ("delete_replica", {"replica_id": UNKNOWN_ID}),
]


@pytest.mark.parametrize(
    "served_key",
    [CANARY, "sk_replicas_some_other_key"],
    ids=["faults", "key-refused"],
)
async def test_the_key_appears_nowhere_on_any_failure_path(served_key: str) -> None:
    config = EmulatorConfig(api_keys={served_key: "acme"}, faults=FAULTS)
    requests = [
        INITIALIZE,
        INITIALIZED,
        *(call(i, tool, args) for i, (tool, args) in enumerate(SCRIPT, start=1)),
    ]

    async with EmulatorServer(config) as emulator:
        env = clean_env(REPLICAS_API_KEY=CANARY, REPLICAS_BASE_URL=emulator.base_url)
        lines, stderr = await exchange(
            ["-m", "replicas_mcp", "serve", "-vv"], requests, env=env
        )

    assert len(lines) == len(SCRIPT) + 1
    assert CANARY not in "\n".join(lines)
    assert CANARY not in stderr
    assert "authorization" not in stderr.lower()
    assert "debug" in stderr.lower()


async def test_a_malformed_key_is_refused_without_being_quoted() -> None:
    key = f"“{CANARY}”"
    requests = [INITIALIZE, INITIALIZED, call(1, "list_replicas", {})]
    env = clean_env(REPLICAS_API_KEY=key)

    lines, stderr = await exchange(["-m", "replicas_mcp", "-vv"], requests, env=env)

    assert "REPLICAS_API_KEY" in lines[-1]
    assert CANARY not in "\n".join(lines) and CANARY not in stderr
