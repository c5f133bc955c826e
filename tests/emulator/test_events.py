"""The SSE event stream (§8, A20, A21)."""

import json

import anyio
import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer

from ._support import (
    SLOW_TURNS,
    Json,
    collect_events,
    create,
    plans,
    read_events,
    send,
    turn_finished,
    wait_for_plans,
    wait_idle,
    wait_status,
    wait_until,
)

pytestmark = pytest.mark.anyio

TURN_ORDER = [
    "chat.turn.accepted",
    "chat.updated",
    "chat.turn.started",
    "chat.turn.delta",
    "repo.status.changed",
    "chat.turn.completed",
    "chat.updated",
]


def never(event: Json) -> bool:
    """Never stop reading: for streams that end from the server side."""
    return False


def collapse(types: list[str]) -> list[str]:
    """Fold runs of the same event type into one entry."""
    folded: list[str] = []
    for event_type in types:
        if not folded or folded[-1] != event_type:
            folded.append(event_type)
    return folded


async def test_stream_opens_with_ready_and_hooks_snapshot(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """An active replica's stream starts with engine.ready and hooks.status."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])

    events = await read_events(
        client, replica["id"], lambda e: e["type"] == "hooks.status"
    )

    assert [e["type"] for e in events] == ["engine.ready", "hooks.status"]
    assert events[0]["payload"] == {"version": "v1"}
    assert events[1]["payload"] == {"running": False, "completed": True}
    assert set(events[0]) == {"id", "ts", "type", "payload"}


async def test_one_turn_emits_the_documented_sequence(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """accepted → updated → started → deltas → repo status → completed → updated."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    events: list[Json] = []

    async with anyio.create_task_group() as group:

        async def listen() -> None:
            events.extend(await read_events(client, replica["id"], turn_finished))

        group.start_soon(listen)
        await wait_until(lambda: emulator.state.open_streams(replica["id"]) == 1)
        await send(client, replica["id"], message="Add a test for the health check")

    types = [e["type"] for e in events]
    assert types[:2] == ["engine.ready", "hooks.status"]
    assert collapse(types[2:]) == TURN_ORDER
    assert events[-1]["payload"]["chat"]["processing"] is False
    assert events[3]["payload"]["chat"]["processing"] is True
    deltas = [e["payload"]["event"] for e in events if e["type"] == "chat.turn.delta"]
    assert [d["type"] for d in deltas][0] == "claude-user"
    assert deltas[-1]["type"] == "claude-result"
    accepted = events[2]["payload"]
    assert (accepted["queued"], accepted["position"]) == (False, 0)
    repos = next(e for e in events if e["type"] == "repo.status.changed")
    assert repos["payload"]["repos"][0]["gitDiff"]["added"] > 0
    assert len({e["id"] for e in events}) == len(events)


# Steps of 0.2 s leave ample time to connect between boot and the first hook.
@pytest.mark.parametrize("emulator", [{"turn_step_delay": 0.2}], indirect=True)
async def test_fresh_workspace_announces_boot_and_hooks(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Connecting right after boot shows discovery, hooks, then the new chat."""
    replica = await create(client)
    await wait_status(emulator.state, replica["id"], "active")

    events = await read_events(
        client, replica["id"], lambda e: e["type"] == "chat.created"
    )

    types = [e["type"] for e in events]
    assert types[:2] == ["engine.ready", "hooks.status"]
    assert events[1]["payload"] == {"running": True, "completed": False}
    assert collapse(types[2:]) == [
        "repo.discovered",
        "hooks.started",
        "hooks.progress",
        "hooks.completed",
        "repo.status.changed",
        "chat.created",
    ]


@pytest.mark.parametrize("emulator", [{"heartbeat_interval": 0.05}], indirect=True)
async def test_idle_streams_get_ping_comments(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A quiet stream carries `: ping` comments; frames are bare `data:` lines."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    lines: list[str] = []

    with anyio.fail_after(5):
        async with client.stream("GET", f"/v1/replica/{replica['id']}/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            async for line in r.aiter_lines():
                lines.append(line)
                if line == ": ping":
                    break

    frames = [line for line in lines if line]
    assert frames[-1] == ": ping"
    assert all(f.startswith("data: {") for f in frames[:-1])
    assert json.loads(frames[0].removeprefix("data: "))["type"] == "engine.ready"


async def test_closing_the_connection_removes_the_subscriber(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A client that goes away stops counting as an open stream."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])

    async with client.sse(f"/v1/replica/{replica['id']}/events") as source:
        async for _ in source:
            break
        assert emulator.state.open_streams(replica["id"]) == 1

    await wait_until(lambda: emulator.state.open_streams(replica["id"]) == 0)


async def test_events_fan_out_to_every_subscriber(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Two streams on one replica both see the same turn."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    seen: list[list[Json]] = []

    async with anyio.create_task_group() as group:

        async def listen() -> None:
            seen.append(await read_events(client, replica["id"], turn_finished))

        group.start_soon(listen)
        group.start_soon(listen)
        await wait_until(lambda: emulator.state.open_streams(replica["id"]) == 2)
        await send(client, replica["id"], message="Tidy the README")

    first, second = ([e["id"] for e in events[2:]] for events in seen)
    assert first == second
    assert first


async def test_stream_on_a_sleeping_replica_is_503_and_wakes_it(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A non-active replica refuses the stream with 503 and starts waking (A21)."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    await client.post(f"/v1/workspaces/{replica['id']}/sleep")

    response = await client.get(f"/v1/replica/{replica['id']}/events")

    assert response.status_code == 503
    assert set(response.json()) == {"error", "details"}
    await wait_status(emulator.state, replica["id"], "active")


async def test_sleep_ends_open_streams(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """When the engine goes away, its streams end."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])

    async with anyio.create_task_group() as group:
        group.start_soon(read_events, client, replica["id"], never)
        await wait_until(lambda: emulator.state.open_streams(replica["id"]) == 1)
        await client.post(f"/v1/workspaces/{replica['id']}/sleep")

    assert emulator.state.open_streams(replica["id"]) == 0


@pytest.mark.parametrize(
    "emulator", [{"heartbeat_interval": 0.05, "turn_step_delay": 0.02}], indirect=True
)
async def test_pings_keep_their_interval_while_events_flow(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Events every 20 ms do not hold back the 50 ms `: ping` comments."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    lines: list[str] = []

    async def listen() -> None:
        with anyio.fail_after(5):
            path = f"/v1/replica/{replica['id']}/events"
            async with client.stream("GET", path) as response:
                async for line in response.aiter_lines():
                    lines.append(line)
                    if '"type":"chat.turn.completed"' in line:
                        break

    async with anyio.create_task_group() as group:
        group.start_soon(listen)
        await wait_until(lambda: emulator.state.open_streams(replica["id"]) == 1)
        await send(client, replica["id"], message="Add a test for the health check")

    frames = [line for line in lines if line]
    first_delta = next(i for i, f in enumerate(frames) if "chat.turn.delta" in f)
    assert ": ping" in frames[first_delta:]
    assert all(f == ": ping" or f.startswith("data: {") for f in frames)
    assert all(f.startswith(":") for f in frames if "ping" in f and "{" not in f)


@SLOW_TURNS
async def test_dropped_streams_close_while_the_turn_runs_on(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """drop_streams cuts the connections only; a reconnect gets a snapshot first."""
    state = emulator.state
    replica = await create(client)
    replica_id = replica["id"]
    await wait_idle(state, replica_id)
    before: list[Json] = []
    dropped = 0

    async with anyio.create_task_group() as group:
        group.start_soon(collect_events, client, replica_id, before)
        await wait_until(lambda: state.open_streams(replica_id) == 1)
        await send(client, replica_id, message="Add a test for the health check")
        await wait_until(lambda: any(e["type"] == "chat.turn.delta" for e in before))
        dropped = state.drop_streams(replica_id)

    record = state.find(replica_id)
    assert dropped == 1
    assert (record.status, record.busy()) == ("active", True)
    assert "chat.turn.completed" not in [e["type"] for e in before]

    after = await read_events(client, replica_id, turn_finished)

    types = [e["type"] for e in after]
    assert types[:2] == ["engine.ready", "hooks.status"]
    assert after[1]["payload"] == {"running": False, "completed": True}
    assert collapse(types[2:]) == TURN_ORDER[3:]
    assert min(e["id"] for e in after) > max(e["id"] for e in before)
    seen = [e["payload"]["event"] for e in before if e["type"] == "chat.turn.delta"]
    assert not [e for e in after[2:] if e["payload"].get("event") in seen]


async def test_events_missed_between_streams_are_not_replayed(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """What happens while no stream is open stays missed; later events flow (A20)."""
    state = emulator.state
    replica = await create(client, "/plan Make the session TTL 24 hours")
    replica_id = replica["id"]
    await wait_for_plans(state, replica_id, 1)
    after: list[Json] = []

    async with anyio.create_task_group() as group:
        group.start_soon(read_events, client, replica_id, never)
        await wait_until(lambda: state.open_streams(replica_id) == 1)
        assert state.drop_streams(replica_id) == 1

    await send(client, replica_id, message="Split it into two steps instead")
    await wait_for_plans(state, replica_id, 2)
    revised = plans([r.event for r in state.find(replica_id).history])[-1]

    async with anyio.create_task_group() as group:
        group.start_soon(collect_events, client, replica_id, after, turn_finished)
        await wait_until(lambda: state.open_streams(replica_id) == 1)
        await send(client, replica_id, message="approve")

    types = [e["type"] for e in after]
    assert types[:2] == ["engine.ready", "hooks.status"]
    assert collapse(types[2:]) == [
        "chat.turn.accepted",
        "chat.updated",
        "chat.turn.delta",
        "repo.status.changed",
        "chat.turn.completed",
        "chat.updated",
    ]
    first_delta = after[4]["payload"]["event"]["payload"]["message"]["content"][0]
    assert first_delta["tool_use_id"] == revised["id"]
