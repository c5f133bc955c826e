"""The chat queue routes (§5.12): list, clear, drop one, reorder."""

import re
from typing import Any

import anyio
import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer, EmulatorState

from ._support import (
    SLOW_TURNS,
    UNKNOWN_ID,
    Json,
    collect_events,
    create,
    get_json,
    send,
    wait_idle,
    wait_status,
    wait_until,
)

pytestmark = pytest.mark.anyio

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

SLOW_BOOTS = pytest.mark.parametrize(
    "emulator",
    [{"boot_delay": 0.3, "wake_delay": 0.3}],
    indirect=True,
    ids=["slow-boots"],
)
"""Use on tests that need messages to stay parked across a few HTTP calls."""


def queue_path(replica_id: str, chat_id: str) -> str:
    """The queue route of one chat."""
    return f"/v1/replica/{replica_id}/chats/{chat_id}/queue"


async def read_queue(client: httpx2.AsyncClient, replica_id: str, chat_id: str) -> Json:
    """GET a chat's queue and return the 200 body."""
    return await get_json(client, queue_path(replica_id, chat_id))


async def edit(
    client: httpx2.AsyncClient, method: str, path: str, **kwargs: Any
) -> Json:
    """Make a queue edit, expect 200 and return the body."""
    response = await client.request(method, path, **kwargs)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def ids(body: Json) -> list[str]:
    """The message ids of a queue body, in queue order."""
    return [entry["id"] for entry in body["queue"]]


def prompts(state: EmulatorState, replica_id: str) -> list[str]:
    """The text of every user message that started a turn, oldest first."""
    texts: list[str] = []
    for record in state.find(replica_id).history:
        if record.event["type"] == "claude-user":
            content: list[Json] = record.event["payload"]["message"]["content"]
            texts += [b["text"] for b in content if b["type"] == "text"]
    return texts


async def busy_chat(
    emulator: EmulatorServer, client: httpx2.AsyncClient, *texts: str
) -> tuple[str, str, list[Json]]:
    """Start a turn, queue `texts` behind it; return replica, chat and receipts."""
    replica = await create(client, "Rename the health endpoint")
    await wait_idle(emulator.state, replica["id"])
    running = await send(client, replica["id"], message="Add a readiness probe")
    assert running["status"] == "sent"

    receipts = [await send(client, replica["id"], message=t) for t in texts]
    assert [r["status"] for r in receipts] == ["queued"] * len(texts)
    return replica["id"], running["chat_id"], receipts


@SLOW_TURNS
async def test_waiting_messages_are_listed_with_their_receipt_ids(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The queue holds what waits, under the ids the sends returned, in order."""
    replica = await create(client, "Rename the health endpoint")
    await wait_idle(emulator.state, replica["id"])
    running = await send(client, replica["id"], message="Add a readiness probe")
    attributed = await send(
        client,
        replica["id"],
        message="Log every request",
        senderUserId="user_42",
        senderEmail="dev@example.org",
    )
    anonymous = await send(client, replica["id"], message="Document both")

    body = await read_queue(client, replica["id"], running["chat_id"])

    assert body["chatId"] == running["chat_id"]
    assert body["processing"] is True
    assert ids(body) == [attributed["message_id"], anonymous["message_id"]]
    first, second = body["queue"]
    assert first["message"] == "Log every request"
    assert first["senderUserId"] == "user_42"
    assert first["senderEmail"] == "dev@example.org"
    assert set(second) == {"id", "message", "queuedAt"}
    assert TIMESTAMP.match(second["queuedAt"])


async def test_an_idle_chat_has_an_empty_queue(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Once the turns are over the chat is idle and nothing waits."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    chats = await get_json(client, f"/v1/replica/{replica['id']}/chats")

    body = await read_queue(client, replica["id"], chats["chats"][0]["id"])

    assert body == {
        "chatId": chats["chats"][0]["id"],
        "processing": False,
        "queue": [],
    }


@SLOW_TURNS
async def test_reorder_changes_the_run_order(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Moving messages changes which runs next; a position past the end is last."""
    replica_id, chat_id, receipts = await busy_chat(
        emulator, client, "Log every request", "Add metrics", "Write the docs"
    )
    logs, metrics, docs = (r["message_id"] for r in receipts)
    reorder = f"{queue_path(replica_id, chat_id)}/reorder"

    to_front = await edit(
        client, "PATCH", reorder, json={"messageId": docs, "position": 0}
    )
    again = await edit(
        client, "PATCH", reorder, json={"messageId": docs, "position": 0}
    )
    to_end = await edit(
        client, "PATCH", reorder, json={"messageId": logs, "position": 99}
    )

    assert (to_front["success"], ids(to_front)) == (True, [docs, logs, metrics])
    assert (again["success"], ids(again)) == (False, [docs, logs, metrics])
    assert (to_end["success"], ids(to_end)) == (True, [docs, metrics, logs])
    await wait_idle(emulator.state, replica_id)
    assert prompts(emulator.state, replica_id) == [
        "Rename the health endpoint",
        "Add a readiness probe",
        "Write the docs",
        "Add metrics",
        "Log every request",
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"position": 0}, "messageId is required"),
        ({"messageId": "", "position": 0}, "messageId is required"),
        ({"messageId": 7, "position": 0}, "messageId must be a string"),
        ({"messageId": "msg_x"}, "position is required"),
        ({"messageId": "msg_x", "position": "1"}, "position must be an integer"),
        ({"messageId": "msg_x", "position": 1.5}, "position must be an integer"),
        ({"messageId": "msg_x", "position": True}, "position must be an integer"),
        ({"messageId": "msg_x", "position": -1}, "position must be 0 or more"),
        ([], "Request body must be a JSON object"),
    ],
    ids=[
        "no-id",
        "empty-id",
        "numeric-id",
        "no-position",
        "string-position",
        "fractional-position",
        "boolean-position",
        "negative-position",
        "not-an-object",
    ],
)
async def test_reorder_names_the_bad_field(
    emulator: EmulatorServer, client: httpx2.AsyncClient, body: Any, error: str
) -> None:
    """A reorder body that is not `{messageId, position >= 0}` is a 400."""
    replica = await create(client)
    chat_id = next(iter(emulator.state.find(replica["id"]).chats))

    response = await client.patch(
        f"{queue_path(replica['id'], chat_id)}/reorder", json=body
    )

    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_reorder_of_a_message_that_is_not_waiting_changes_nothing(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """An id that is not waiting (ran already, or never was) is `success: false`."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    chat_id = next(iter(emulator.state.find(replica["id"]).chats))
    reorder = f"{queue_path(replica['id'], chat_id)}/reorder"

    body = await edit(
        client, "PATCH", reorder, json={"messageId": "msg_gone", "position": 0}
    )

    assert body == {"success": False, "queue": []}


@SLOW_TURNS
async def test_a_removed_message_never_runs(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Dropping one message leaves the others waiting; a second drop is no change."""
    replica_id, chat_id, receipts = await busy_chat(
        emulator, client, "Log every request", "Add metrics"
    )
    logs, metrics = (r["message_id"] for r in receipts)
    one = f"{queue_path(replica_id, chat_id)}/{logs}"

    dropped = await edit(client, "DELETE", one)
    again = await edit(client, "DELETE", one)

    assert (dropped["success"], ids(dropped)) == (True, [metrics])
    assert (again["success"], ids(again)) == (False, [metrics])
    await wait_idle(emulator.state, replica_id)
    assert "Log every request" not in prompts(emulator.state, replica_id)
    assert prompts(emulator.state, replica_id)[-1] == "Add metrics"


@SLOW_TURNS
async def test_clearing_the_queue_leaves_the_running_turn_alone(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Clear drops what waits; the turn under way goes on and completes."""
    replica_id, chat_id, _ = await busy_chat(
        emulator, client, "Log every request", "Add metrics"
    )
    path = queue_path(replica_id, chat_id)

    cleared = await edit(client, "DELETE", path)
    during = await read_queue(client, replica_id, chat_id)
    again = await edit(client, "DELETE", path)

    assert cleared == {"success": True, "queue": []}
    assert (during["processing"], during["queue"]) == (True, [])
    assert again == {"success": False, "queue": []}
    await wait_idle(emulator.state, replica_id)
    assert prompts(emulator.state, replica_id) == [
        "Rename the health endpoint",
        "Add a readiness probe",
    ]
    history = await get_json(client, f"/v1/replica/{replica_id}/history")
    results = [e for e in history["events"] if e["type"] == "claude-result"]
    assert [r["payload"]["is_error"] for r in results] == [False, False]


@SLOW_BOOTS
async def test_messages_parked_while_preparing_are_queued(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Before boot the first message and later ones wait in the queue."""
    replica = await create(client, "Rename the health endpoint")
    receipt = await send(client, replica["id"], message="Also update the docs")

    body = await read_queue(client, replica["id"], receipt["chat_id"])

    assert body["processing"] is True
    assert [e["message"] for e in body["queue"]] == [
        "Rename the health endpoint",
        "Also update the docs",
    ]
    assert ids(body)[1] == receipt["message_id"]
    await wait_idle(emulator.state, replica["id"])
    assert len(prompts(emulator.state, replica["id"])) == 2


@SLOW_BOOTS
async def test_messages_parked_while_asleep_are_queued(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Reading the queue wakes nothing; a parked message can be taken back."""
    replica = await create(client)
    replica_id = replica["id"]
    await wait_idle(emulator.state, replica_id)
    chat_id = next(iter(emulator.state.find(replica_id).chats))
    await client.post(f"/v1/workspaces/{replica_id}/sleep")

    asleep = await read_queue(client, replica_id, chat_id)
    assert emulator.state.find(replica_id).status == "sleeping"
    receipt = await send(client, replica_id, message="Bump the version")
    parked = await read_queue(client, replica_id, chat_id)
    one = f"{queue_path(replica_id, chat_id)}/{ids(parked)[0]}"
    dropped = await edit(client, "DELETE", one)

    assert asleep == {"chatId": chat_id, "processing": False, "queue": []}
    assert receipt["status"] == "waking"
    assert [e["message"] for e in parked["queue"]] == ["Bump the version"]
    assert dropped == {"success": True, "queue": []}
    await wait_status(emulator.state, replica_id, "active")
    await wait_idle(emulator.state, replica_id)
    assert "Bump the version" not in prompts(emulator.state, replica_id)


@pytest.mark.parametrize(
    "emulator", [{"turn_step_delay": 0.1}], indirect=True, ids=["slow-hooks"]
)
async def test_emptying_the_queue_tells_the_stream_the_chat_is_idle(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """After a wake, clearing the parked message turns `processing` off at once."""
    replica = await create(client, "Explain the session module")
    replica_id = replica["id"]
    await wait_idle(emulator.state, replica_id)
    chat_id = next(iter(emulator.state.find(replica_id).chats))
    await client.post(f"/v1/workspaces/{replica_id}/sleep")
    await send(client, replica_id, message="Bump the version", chat_id=chat_id)
    await wait_status(emulator.state, replica_id, "active")
    events: list[Json] = []

    async with anyio.create_task_group() as group:

        async def listen() -> None:
            await collect_events(
                client, replica_id, events, lambda e: e["type"] == "chat.updated"
            )

        group.start_soon(listen)
        # Start hooks hold the parked message back while the stream opens.
        await wait_until(lambda: emulator.state.open_streams(replica_id) == 1)
        await edit(client, "DELETE", queue_path(replica_id, chat_id))

    assert events[-1]["payload"]["chat"]["id"] == chat_id
    assert events[-1]["payload"]["chat"]["processing"] is False


async def test_unknown_chats_and_replicas_are_404(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Every queue route names the missing chat or workspace."""
    replica = await create(client)
    path = queue_path(replica["id"], "no-such-chat")
    reorder = {"messageId": "msg_x", "position": 0}

    answers = [
        await client.get(path),
        await client.delete(path),
        await client.delete(f"{path}/msg_x"),
        await client.patch(f"{path}/reorder", json=reorder),
    ]
    no_replica = await client.get(queue_path(UNKNOWN_ID, "no-such-chat"))

    assert [a.status_code for a in answers] == [404] * 4
    assert {a.json()["error"] for a in answers} == {"Chat not found"}
    assert no_replica.status_code == 404
    assert no_replica.json()["error"] == "Workspace not found"
