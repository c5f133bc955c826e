"""Start hooks that fail: `failing_start_hooks` and the `hooks.failed` path."""

import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer

from ._support import (
    SET_ENVIRONMENT,
    create,
    get_json,
    read_events,
    wait_idle,
    wait_status,
)

pytestmark = pytest.mark.anyio

FAILING_API = {"failing_start_hooks": frozenset({"api"})}


# Steps of 0.1 s leave time to connect between boot and the first hook.
@pytest.mark.parametrize(
    "emulator", [{**FAILING_API, "turn_step_delay": 0.1}], indirect=True
)
async def test_a_failing_start_hook_emits_hooks_failed_and_the_agent_starts(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """hooks.failed ends the hook run; the first message runs all the same."""
    replica = await create(client, "/plan Make the session TTL 24 hours")
    await wait_status(emulator.state, replica["id"], "active")

    events = await read_events(
        client, replica["id"], lambda e: e["type"] == "chat.turn.started"
    )

    types = [e["type"] for e in events]
    assert types[2:7] == [
        "repo.discovered",
        "hooks.started",
        "hooks.progress",
        "hooks.failed",
        "repo.status.changed",
    ]
    assert "hooks.completed" not in types
    assert events[5]["payload"] == {"running": False, "completed": True}
    assert events[6]["payload"]["repos"][0]["startHooksCompleted"] is True
    assert types[-1] == "chat.turn.started"


@pytest.mark.parametrize("emulator", [FAILING_API], indirect=True)
async def test_a_failed_start_hook_shows_in_hooks_and_environment(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """GET /hooks has the exit code; include=environment marks the hook failed."""
    replica = await create(client, environment_id=SET_ENVIRONMENT)
    base = f"/v1/replica/{replica['id']}"
    await wait_idle(emulator.state, replica["id"])

    hooks = await get_json(client, f"{base}/hooks")
    details = await get_json(client, base, include="environment")
    history = await get_json(client, f"{base}/history")

    start = {log["hookName"]: log for log in hooks["start_hooks"]["logs"]}
    assert {name: log["exitCode"] for name, log in start.items()} == {
        "environment": 0,
        "acme/web": 0,
        "acme/api": 1,
    }
    api_log = start["acme/api"]
    assert api_log["output"].endswith("error: `pytest -q` exited with status 1\n")
    assert api_log["outputTotalChars"] == len(api_log["output"])
    environment = details["replica"]["environment"]["hooks"]["repositories"]
    assert {r["repository_name"]: r["start_hook"] for r in environment} == {
        "acme/web": "succeeded",
        "acme/api": "failed",
    }
    statuses = details["replica"]["repository_statuses"]
    assert [s["start_hooks_completed"] for s in statuses] == [True, True]
    assert details["replica"]["status"] == "active"
    assert history["events"][-1]["type"] == "claude-result"


async def test_start_hooks_succeed_without_the_knob(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """By default every start hook exits 0 and the environment says succeeded."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])

    hooks = await get_json(client, f"/v1/replica/{replica['id']}/hooks")

    assert [log["exitCode"] for log in hooks["start_hooks"]["logs"]] == [0, 0]
