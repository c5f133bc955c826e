"""Messages, chats and the simulated agent's turns."""

import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer
from replicas_mcp.emulator.routes import tail_window

from ._support import (
    SLOW_TURNS,
    create,
    get_json,
    send,
    wait_idle,
    wait_status,
    wait_until,
)

pytestmark = pytest.mark.anyio


@SLOW_TURNS
async def test_messages_during_a_turn_queue_in_order(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A busy chat queues messages with 1-based positions and runs them in order."""
    replica = await create(client, "Rename the health endpoint")
    replica_id = replica["id"]
    await wait_idle(emulator.state, replica_id)
    record = emulator.state.find(replica_id)

    first = await send(client, replica_id, message="Add a readiness probe")
    second = await send(client, replica_id, message="Log every request")
    third = await send(client, replica_id, message="Document both")

    assert first["status"] == "sent"
    assert first["position"] is None
    assert (second["status"], second["position"]) == ("queued", 1)
    assert (third["status"], third["position"]) == ("queued", 2)
    assert first["chat_id"] == second["chat_id"] == third["chat_id"]

    await wait_idle(emulator.state, replica_id)
    prompts = [
        r.event["payload"]["message"]["content"][0]["text"]
        for r in record.history
        if r.event["type"] == "claude-user"
        and r.event["payload"]["message"]["content"][0]["type"] == "text"
    ]
    assert prompts == [
        "Rename the health endpoint",
        "Add a readiness probe",
        "Log every request",
        "Document both",
    ]


@pytest.mark.parametrize("emulator", [{"boot_delay": 0.3}], indirect=True)
async def test_messages_to_a_preparing_replica_are_queued(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Before boot the first message waits, so the next one is second in line."""
    replica = await create(client)

    receipt = await send(client, replica["id"], message="Also update the docs")

    assert (receipt["status"], receipt["position"]) == ("queued", 2)
    await wait_idle(emulator.state, replica["id"])
    history = await get_json(client, f"/v1/replica/{replica['id']}/history")
    results = [e for e in history["events"] if e["type"] == "claude-result"]
    assert len(results) == 2


async def test_message_to_sleeping_replica_wakes_it_and_runs_after(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A sleeping replica answers `waking` and handles the message once up."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    await client.post(f"/v1/workspaces/{replica['id']}/sleep")

    receipt = await send(client, replica["id"], message="Bump the version")

    assert receipt == {
        "status": "waking",
        "message_id": None,
        "position": None,
        "chat_id": None,
    }
    await wait_status(emulator.state, replica["id"], "active")
    await wait_idle(emulator.state, replica["id"])
    record = emulator.state.find(replica["id"])
    assert sum(r.event["type"] == "claude-result" for r in record.history) == 2


async def test_message_to_errored_replica_is_409(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A replica in `error` refuses messages with the failure as details (A14)."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    emulator.state.fail(emulator.state.find(replica["id"]), "Sandbox died")

    response = await client.post(
        f"/v1/replica/{replica['id']}/messages", json={"message": "Hello?"}
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": "Workspace is in error state",
        "details": "Sandbox died",
    }


async def test_unknown_chat_id_is_404(client: httpx2.AsyncClient) -> None:
    """Naming a chat that does not exist is a 404, not a new chat."""
    replica = await create(client)

    response = await client.post(
        f"/v1/replica/{replica['id']}/messages",
        json={"message": "Hi", "chat_id": "no-such-chat"},
    )

    assert response.status_code == 404
    assert response.json()["error"] == "Chat not found"


async def test_another_agent_gets_its_own_chat_and_becomes_current(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Without chat_id, a new coding_agent gets a new chat of that provider (A12)."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])

    receipt = await send(
        client, replica["id"], message="Review the diff", coding_agent="codex"
    )
    again = await send(client, replica["id"], message="And the tests")
    await wait_idle(emulator.state, replica["id"])

    details = await get_json(client, f"/v1/replica/{replica['id']}")
    chats = details["replica"]["chats"]
    assert [c["provider"] for c in chats] == ["claude", "codex"]
    assert receipt["chat_id"] == chats[1]["id"] == again["chat_id"]
    assert details["replica"]["coding_agent"] == "codex"


async def test_codex_chats_write_codex_shaped_history(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Codex turns use event_msg and response_item events (§8.4, A25)."""
    replica = await create(
        client, "Add a test for expired sessions", coding_agent="codex"
    )
    await wait_idle(emulator.state, replica["id"])

    history = await get_json(client, f"/v1/replica/{replica['id']}/history")

    events = history["events"]
    assert {e["type"] for e in events} == {"event_msg", "response_item"}
    assert events[0]["payload"] == {
        "type": "user_message",
        "message": "Add a test for expired sessions",
    }
    kinds = [e["payload"]["type"] for e in events]
    assert kinds[1] == "agent_reasoning"
    assert {"function_call", "function_call_output", "custom_tool_call"} <= set(kinds)
    assert kinds[-1] == "message"
    assert history["coding_agent"] == "codex"
    assert history["thread_id"] is not None


async def test_claude_turn_has_the_claude_shape(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Claude turns go user → thinking → tool use/result pairs → text → result."""
    replica = await create(client, "Make the session TTL 24 hours")
    await wait_idle(emulator.state, replica["id"])

    history = await get_json(client, f"/v1/replica/{replica['id']}/history")

    events = history["events"]
    blocks = [e["payload"].get("message", {}).get("content", [{}])[0] for e in events]
    assert events[0]["type"] == "claude-user"
    assert blocks[1]["type"] == "thinking"
    tool_uses = [b for b in blocks if b.get("type") == "tool_use"]
    results = [b for b in blocks if b.get("type") == "tool_result"]
    assert [t["name"] for t in tool_uses] == ["Read", "Edit", "Bash"]
    assert [r["tool_use_id"] for r in results] == [t["id"] for t in tool_uses]
    assert blocks[-2]["type"] == "text"
    assert events[-1]["type"] == "claude-result"
    assert events[-1]["payload"]["subtype"] == "success"


async def test_chat_titles_come_from_the_first_message(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The initial chat is named after the task once its turn starts."""
    replica = await create(client, "Fix the flaky login test. It times out on CI.")
    await wait_idle(emulator.state, replica["id"])

    chats = await get_json(client, f"/v1/replica/{replica['id']}/chats")

    assert chats["waking"] is False
    assert [c["title"] for c in chats["chats"]] == ["Fix the flaky login test"]
    assert chats["chats"][0]["processing"] is False


async def test_created_chats_receive_messages_and_can_be_deleted(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """POST chats returns the bare chat; DELETE removes it and its history."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    base = f"/v1/replica/{replica['id']}"

    created = await client.post(f"{base}/chats", json={"provider": "pi", "title": "Pi"})
    chat_id = created.json()["id"]
    await send(client, replica["id"], message="Say hi", chat_id=chat_id)
    await wait_idle(emulator.state, replica["id"])
    only_pi = await get_json(client, f"{base}/history", chat_id=chat_id)
    deleted = await client.delete(f"{base}/chats/{chat_id}")
    again = await client.delete(f"{base}/chats/{chat_id}")
    remaining = await get_json(client, f"{base}/chats")

    assert created.status_code == 201
    assert created.json()["provider"] == "pi"
    assert {e["type"] for e in only_pi["events"]} <= {
        "pi-agent_start",
        "pi-message_update",
        "pi-tool_execution_end",
        "pi-agent_end",
    }
    assert only_pi["events"][-1]["type"] == "pi-agent_end"
    assert deleted.json() == {"success": True}
    assert again.status_code == 404
    assert [c["provider"] for c in remaining["chats"]] == ["claude"]


async def test_create_chat_validates_provider(client: httpx2.AsyncClient) -> None:
    """provider is required and checked against the agent list."""
    replica = await create(client)

    missing = await client.post(f"/v1/replica/{replica['id']}/chats", json={})
    wrong = await client.post(
        f"/v1/replica/{replica['id']}/chats", json={"provider": "gpt"}
    )

    assert missing.status_code == 400
    assert missing.json()["error"] == "provider is required"
    assert wrong.status_code == 400
    assert wrong.json()["error"].startswith("provider must be one of: claude")


@pytest.mark.parametrize(
    ("total", "limit", "offset", "window"),
    [
        (10, 3, 0, (7, 10)),
        (10, 3, 8, (0, 2)),
        (10, None, 4, (0, 6)),
        (10, 5, 10, (0, 0)),
        (10, 5, 15, (0, 0)),
        (0, None, 0, (0, 0)),
    ],
)
def test_tail_window_follows_a10(
    total: int, limit: int | None, offset: int, window: tuple[int, int]
) -> None:
    """History windows count back from the newest event."""
    assert tail_window(total, limit, offset) == window


async def test_history_pages_from_the_newest_event(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """limit/offset pages slice the full history and report has_more (A10)."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    path = f"/v1/replica/{replica['id']}/history"
    everything = await get_json(client, path)
    total = everything["total"]

    newest = await get_json(client, path, limit=3)
    older = await get_json(client, path, limit=3, offset=3)
    oldest = await get_json(client, path, limit=total, offset=2)
    past_end = await get_json(client, path, limit=2, offset=total)

    assert total == len(everything["events"]) > 6
    assert newest["events"] == everything["events"][-3:]
    assert newest["has_more"] is True
    assert older["events"] == everything["events"][-6:-3]
    assert oldest["events"] == everything["events"][: total - 2]
    assert oldest["has_more"] is False
    assert (past_end["events"], past_end["has_more"]) == ([], False)
    assert newest["total"] == total


@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"offset": "-1"}, {"limit": "many"}]
)
async def test_history_rejects_bad_paging(
    client: httpx2.AsyncClient, params: dict[str, str]
) -> None:
    """limit must be ≥ 1 and offset ≥ 0."""
    replica = await create(client)

    response = await client.get(f"/v1/replica/{replica['id']}/history", params=params)

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("policy", "status"),
    [("sleep_when_done", "sleeping"), ("archive_when_done", "archived")],
)
async def test_when_done_policies_act_after_the_turn(
    emulator: EmulatorServer, client: httpx2.AsyncClient, policy: str, status: str
) -> None:
    """The lifecycle policy puts the replica away once the agent is done."""
    replica = await create(client, lifecycle_policy=policy)

    await wait_status(emulator.state, replica["id"], status)

    listing = await get_json(client, "/v1/replica", status=status, limit=100)
    assert replica["id"] in [r["id"] for r in listing["replicas"]]


async def test_legacy_delete_when_done_deletes_after_the_turn(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The legacy policy value removes the replica once the agent finishes (A5)."""
    replica = await create(client, lifecycle_policy="delete_when_done")

    await wait_until(
        lambda: replica["id"] not in {r.id for r in emulator.state.replicas("acme")}
    )

    response = await client.get(f"/v1/replica/{replica['id']}")
    assert response.status_code == 404


async def test_last_activity_is_set_once_a_turn_runs(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """last_activity_at stays null until the first message is processed (A27)."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])

    details = await get_json(client, f"/v1/replica/{replica['id']}")

    assert replica["last_activity_at"] is None
    assert details["replica"]["last_activity_at"] is not None


@SLOW_TURNS
async def test_chats_report_processing_while_a_turn_runs(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """`processing` is true while a turn runs."""
    replica = await create(client)
    record = emulator.state.find(replica["id"])
    await wait_until(lambda: any(c.processing for c in record.chats.values()))

    chats = await get_json(client, f"/v1/replica/{replica['id']}/chats")

    assert chats["chats"][0]["processing"] is True
