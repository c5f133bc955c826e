"""Helpers shared by the emulator tests."""

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

from replicas_mcp.emulator import EmulatorConfig, EmulatorState, stable_id

Json = dict[str, Any]

API_KEY = "sk_replicas_test"
OTHER_KEY = "sk_replicas_globex"
LISTING_KEY = "sk_replicas_initech"
VERSION_HEADER = {"X-Replicas-Api-Version": "2026-05-17"}

API_ENVIRONMENT = stable_id("acme", "environment", "repository", "api")
WEB_ENVIRONMENT = stable_id("acme", "environment", "repository", "web")
SET_ENVIRONMENT = stable_id("acme", "environment", "repository-set", "frontend+api")
GLOBAL_ENVIRONMENT = stable_id("acme", "environment", "global")
API_REPOSITORY = stable_id("acme", "repository", "api")
WEB_REPOSITORY = stable_id("acme", "repository", "web")
FRONTEND_SET = stable_id("acme", "repository-set", "frontend+api")
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEA"
    "wS2OUAAAAABJRU5ErkJggg=="
)


SLOW_TURNS = pytest.mark.parametrize(
    "emulator", [{"turn_step_delay": 0.05}], indirect=True, ids=["slow-turns"]
)
"""Use on tests that need a turn to stay busy across a few HTTP calls."""


def fast_config(**overrides: Any) -> EmulatorConfig:
    """Return a config with delays small enough for a quick suite."""
    settings: Json = {
        "api_keys": {API_KEY: "acme", OTHER_KEY: "globex", LISTING_KEY: "initech"},
        "boot_delay": 0.02,
        "wake_delay": 0.02,
        "turn_step_delay": 0.002,
        "heartbeat_interval": 5.0,
    }
    settings.update(overrides)
    return EmulatorConfig(**settings)


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Wait (at most 5 s) until `predicate()` holds."""
    with anyio.fail_after(5):
        while not predicate():
            await anyio.sleep(0.005)


async def create(
    client: httpx2.AsyncClient,
    message: str = "Make the session TTL 24 hours and add a test",
    *,
    name: str = "fix-session-ttl",
    environment_id: str | None = API_ENVIRONMENT,
    **extra: Any,
) -> Json:
    """Create a replica (returning at once) and return it."""
    body = {"name": name, "message": message, "environment_id": environment_id}
    response = await client.post(
        "/v1/replica", json={**body, **extra}, headers=VERSION_HEADER
    )
    assert response.status_code == 201, response.text
    replica: Json = response.json()["replica"]
    return replica


async def send(client: httpx2.AsyncClient, replica_id: str, **body: Any) -> Json:
    """Send a message and return the 200 body."""
    response = await client.post(f"/v1/replica/{replica_id}/messages", json=body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


async def read_events(
    client: httpx2.AsyncClient,
    replica_id: str,
    until: Callable[[Json], bool],
) -> list[Json]:
    """Read the event stream until an event satisfies `until` (at most 5 s)."""
    events: list[Json] = []
    await collect_events(client, replica_id, events, until)
    return events


async def collect_events(
    client: httpx2.AsyncClient,
    replica_id: str,
    into: list[Json],
    until: Callable[[Json], bool] = lambda event: False,
) -> None:
    """Append events to `into` as they arrive, until `until` or the stream ends."""
    with anyio.fail_after(5):
        async with client.sse(f"/v1/replica/{replica_id}/events") as source:
            async for message in source:
                event: Json = json.loads(message.data)
                into.append(event)
                if until(event):
                    break


def turn_finished(event: Json) -> bool:
    """Tell whether an event reports that a chat stopped processing."""
    return (
        event["type"] == "chat.updated" and not event["payload"]["chat"]["processing"]
    )


async def get_json(client: httpx2.AsyncClient, path: str, **params: Any) -> Json:
    """GET a path, expect 200 and return the body."""
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def wait_idle(state: EmulatorState, replica_id: str) -> None:
    """Wait until a replica is active, past its hooks, and has no work left."""
    replica = state.find(replica_id)
    await wait_until(lambda: replica.ready and not replica.busy())


async def wait_status(state: EmulatorState, replica_id: str, status: str) -> None:
    """Wait until a replica's stored status is `status`."""
    replica = state.find(replica_id)
    await wait_until(lambda: replica.status == status)


def agent_events(state: EmulatorState, replica_id: str) -> list[Json]:
    """Return a replica's history events from the state (reading it wakes none)."""
    return [record.event for record in state.find(replica_id).history]


def claude_blocks(events: list[Json], block_type: str) -> list[Json]:
    """Return the content blocks of one type from Claude history events."""
    blocks: list[Json] = []
    for event in events:
        content: list[Json] = event["payload"].get("message", {}).get("content", [])
        blocks += [b for b in content if b["type"] == block_type]
    return blocks


def plans(events: list[Json]) -> list[Json]:
    """Return the ExitPlanMode tool uses: the plans the agent asked about."""
    uses = claude_blocks(events, "tool_use")
    return [u for u in uses if u["name"] == "ExitPlanMode"]


async def wait_for_plans(state: EmulatorState, replica_id: str, count: int) -> str:
    """Wait until `count` plans were asked about and one waits; return its chat."""
    await wait_until(
        lambda: (
            len(plans(agent_events(state, replica_id))) == count
            and bool(state.chats_awaiting_input(replica_id))
        )
    )
    return state.chats_awaiting_input(replica_id)[0]
