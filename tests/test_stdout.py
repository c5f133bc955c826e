"""Over stdio, stdout is the protocol: nothing else may ever reach it."""

import json
from pathlib import Path
from typing import Any

import pytest

from .jsonrpc import INITIALIZE, INITIALIZED, call, exchange

pytestmark = pytest.mark.anyio

NOISY = Path(__file__).with_name("noisy_server.py")
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


async def test_stray_prints_warnings_and_fd_writes_never_reach_stdout() -> None:
    """Every tool, on success and failure paths, with noise injected in-process."""
    script: list[tuple[str, dict[str, Any]]] = [
        ("list_repositories", {}),
        ("list_replicas", {}),
        ("get_replica", {"replica_id": UNKNOWN_ID}),
        ("get_history", {"replica_id": UNKNOWN_ID}),
        ("get_diff", {"replica_id": UNKNOWN_ID}),
        ("get_hooks", {"replica_id": UNKNOWN_ID}),
        ("list_chats", {"replica_id": UNKNOWN_ID}),
        ("create_chat", {"replica_id": UNKNOWN_ID, "provider": "claude"}),
        ("delete_chat", {"replica_id": UNKNOWN_ID, "chat_id": "c"}),
        ("send_message", {"replica_id": UNKNOWN_ID, "message": "hi"}),
        ("delete_replica", {"replica_id": UNKNOWN_ID}),
        ("create_replica", {"name": "a b", "message": "x"}),
        ("create_replicas", {"replicas": [{"name": "n", "message": "m"}]}),
        ("wait_for_replicas", {"replica_ids": [UNKNOWN_ID], "timeout": 1}),
        ("no_such_tool", {}),
    ]
    requests = [
        INITIALIZE,
        INITIALIZED,
        *(call(i, tool, args) for i, (tool, args) in enumerate(script, start=1)),
    ]

    lines, stderr = await exchange([str(NOISY), "serve", "--emulator"], requests)

    assert lines, "the server answered nothing"
    for line in lines:
        message = json.loads(line)
        assert message.get("jsonrpc") == "2.0", line
    assert "stray" in stderr
