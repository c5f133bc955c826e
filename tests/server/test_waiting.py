"""Following agent work: bounded waits, progress, subscriptions, batches."""

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import ResourceUpdatedNotification

from replicas_mcp.api import ReplicasClient
from replicas_mcp.emulator import EmulatorConfig, EmulatorServer
from replicas_mcp.server import build_server

from ._helpers import UNKNOWN_ID, ok, text_of

pytestmark = pytest.mark.anyio

KEY = "sk_replicas_waiting"
# Turns take a few seconds here, so a wait can be seen working and timing out.
SLOW = EmulatorConfig(
    api_keys={KEY: "acme"},
    boot_delay=0.05,
    turn_step_delay=0.25,
    heartbeat_interval=0.5,
)


@pytest.fixture
async def emulator_here() -> AsyncIterator[EmulatorServer]:
    """An emulator in the test's own event loop, so its state can be poked."""
    async with EmulatorServer(SLOW) as running:
        yield running


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "2025-11-25"])
async def client(
    request: pytest.FixtureRequest, emulator_here: EmulatorServer
) -> AsyncIterator[Client]:
    async with ReplicasClient(api_key=KEY, base_url=emulator_here.base_url) as api:
        async with Client(build_server(client=api), mode=request.param) as client:
            yield client


async def _start(client: Client, message: str = "Fix the login error") -> str:
    catalog = await ok(client, "list_repositories", {})
    replica = await ok(
        client,
        "create_replica",
        {
            "name": "waited-on",
            "message": message,
            "repository_ids": [catalog["repositories"][0]["id"]],
        },
    )
    return replica["id"]


async def _no_streams(emulator: EmulatorServer, replica_id: str) -> None:
    with anyio.fail_after(5):
        while emulator.state.open_streams(replica_id):
            await anyio.sleep(0.01)


async def test_a_wait_returns_when_the_turn_completes(
    client: Client, emulator_here: EmulatorServer
) -> None:
    replica_id = await _start(client)

    result = await client.call_tool(
        "wait_for_replicas", {"replica_ids": [replica_id], "timeout": 30}
    )

    view = result.structured_content
    assert view is not None and not view["timed_out"]
    digest = view["replicas"][0]
    assert digest["state"] == "idle" and digest["done"]
    assert digest["last_message"].startswith("Done:")
    assert digest["changes"] and digest["changes"][0].startswith("acme/web +")
    assert "get_history" in text_of(result)
    await _no_streams(emulator_here, replica_id)


async def test_a_wait_that_times_out_says_what_is_still_running(
    client: Client,
) -> None:
    replica_id = await _start(client)
    await ok(
        client, "wait_for_replicas", {"replica_ids": replica_id, "until": "active"}
    )

    result = await client.call_tool(
        "wait_for_replicas", {"replica_ids": [replica_id], "timeout": 1}
    )

    view = result.structured_content
    assert view is not None and view["timed_out"]
    digest = view["replicas"][0]
    assert digest["state"] in ("working", "setting_up") and not digest["done"]
    assert "Still waiting" in text_of(result)
    assert f"wait_for_replicas(replica_ids=['{replica_id}']" in text_of(result)


async def test_progress_names_what_the_agent_is_doing(client: Client) -> None:
    replica_id = await _start(client)
    messages: list[str] = []

    async def progress(
        progress: float, total: float | None, message: str | None
    ) -> None:
        messages.append(message or "")

    await client.call_tool(
        "wait_for_replicas",
        {"replica_ids": [replica_id], "timeout": 30},
        progress_callback=progress,
    )

    assert len(messages) >= 3
    assert any("running " in m for m in messages), messages


async def test_a_completion_is_not_missed_when_the_stream_drops(
    client: Client, emulator_here: EmulatorServer
) -> None:
    """The API replays nothing, so after a drop the view is re-read over REST."""
    replica_id = await _start(client)
    await ok(
        client, "wait_for_replicas", {"replica_ids": replica_id, "until": "active"}
    )
    result: dict[str, Any] = {}

    async def wait() -> None:
        result.update(
            await ok(
                client, "wait_for_replicas", {"replica_ids": replica_id, "timeout": 30}
            )
        )

    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        with anyio.fail_after(10):
            while not result:
                # Keep cutting the stream: the completion lands in some gap.
                if emulator_here.state.open_streams(replica_id):
                    emulator_here.state.drop_streams(replica_id)
                await anyio.sleep(0.05)

    assert not result["timed_out"]
    assert result["replicas"][0]["state"] == "idle"


async def test_waits_on_one_replica_share_one_upstream_stream(
    client: Client, emulator_here: EmulatorServer
) -> None:
    replica_id = await _start(client)
    seen: list[int] = []

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(
                client.call_tool,
                "wait_for_replicas",
                {"replica_ids": [replica_id], "timeout": 30},
            )
        with anyio.fail_after(5):
            while not emulator_here.state.open_streams(replica_id):
                await anyio.sleep(0.01)
        seen.append(emulator_here.state.open_streams(replica_id))

    assert seen == [1]
    await _no_streams(emulator_here, replica_id)


async def test_a_cancelled_wait_closes_its_stream(
    client: Client, emulator_here: EmulatorServer
) -> None:
    replica_id = await _start(client)

    with anyio.move_on_after(1):
        await client.call_tool(
            "wait_for_replicas", {"replica_ids": [replica_id], "timeout": 30}
        )

    await _no_streams(emulator_here, replica_id)


async def test_a_batch_creates_each_replica_or_says_why_not(client: Client) -> None:
    catalog = await ok(client, "list_repositories", {})
    web, api = (repo["id"] for repo in catalog["repositories"][:2])
    batch = await ok(
        client,
        "create_replicas",
        {
            "replicas": [
                {"name": "one", "message": "Fix the login", "repository_ids": [web]},
                {"name": "two", "message": "Add a test", "repository_ids": [api]},
                {"name": "three", "message": "x", "repository_ids": [UNKNOWN_ID]},
            ]
        },
    )

    created = [r["replica"]["id"] for r in batch["results"] if "replica" in r]
    waited = await ok(
        client,
        "wait_for_replicas",
        {"replica_ids": created, "all_of": True, "timeout": 30},
    )

    assert (batch["created"], batch["failed"]) == (2, 1)
    assert "404" in batch["results"][2]["error"]
    assert not waited["timed_out"]
    assert {d["state"] for d in waited["replicas"]} == {"idle"}


async def test_waiting_on_several_returns_as_soon_as_one_is_done(
    client: Client,
) -> None:
    fast = await _start(client, "Fix a typo")
    await ok(client, "wait_for_replicas", {"replica_ids": fast})
    slow = await _start(client, "Rewrite the login form")

    waited = await ok(
        client, "wait_for_replicas", {"replica_ids": [fast, slow], "timeout": 30}
    )

    by_id = {d["replica_id"]: d for d in waited["replicas"]}
    assert by_id[fast]["done"] and not by_id[slow]["done"]


async def test_get_replica_says_the_state_and_what_to_call_next(
    client: Client,
) -> None:
    replica_id = await _start(client)

    booting = await client.call_tool("get_replica", {"replica_id": replica_id})
    await ok(client, "wait_for_replicas", {"replica_ids": replica_id})
    idle = await client.call_tool("get_replica", {"replica_id": replica_id})

    assert booting.structured_content and idle.structured_content
    assert booting.structured_content["state"] in ("booting", "working", "setting_up")
    assert "wait_for_replicas" in text_of(booting)
    assert idle.structured_content["state"] == "idle"
    assert "get_history" in text_of(idle)


async def _updates_2026(client: Client, uri: str, replica_id: str) -> list[str]:
    seen: list[str] = []
    async with client.listen(resource_subscriptions=[uri]) as subscription:
        await client.call_tool(
            "send_message", {"replica_id": replica_id, "message": "Add a test"}
        )
        with anyio.fail_after(10):
            async for event in subscription:
                seen.append(str(getattr(event, "uri", "")))
                break

    return seen


async def test_subscribers_hear_when_a_replica_changes_2026(
    emulator_here: EmulatorServer,
) -> None:
    async with ReplicasClient(api_key=KEY, base_url=emulator_here.base_url) as api:
        async with Client(build_server(client=api)) as client:
            replica_id = await _start(client)
            await ok(client, "wait_for_replicas", {"replica_ids": replica_id})

            status_uri = f"replicas://replica/{replica_id}"
            diffs_uri = f"{status_uri}/diffs"
            status = await _updates_2026(client, status_uri, replica_id)
            diffs = await _updates_2026(client, diffs_uri, replica_id)

    assert status == [status_uri] and diffs == [diffs_uri]
    await _no_streams(emulator_here, replica_id)


# The SDK marks the 2025 subscribe call deprecated; testing that era is the point.
@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_subscribers_hear_when_a_replica_changes_2025(
    emulator_here: EmulatorServer,
) -> None:
    updates: list[str] = []
    arrived = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(str(message.params.uri))
            arrived.set()

    async with ReplicasClient(api_key=KEY, base_url=emulator_here.base_url) as api:
        server = build_server(client=api)
        async with Client(server, mode="legacy", message_handler=on_message) as client:
            replica_id = await _start(client)
            await ok(client, "wait_for_replicas", {"replica_ids": replica_id})
            uri = f"replicas://replica/{replica_id}/diffs"

            await client.subscribe_resource(uri)  # pyright: ignore[reportDeprecated]
            assert emulator_here.state.open_streams(replica_id) <= 1
            await client.call_tool(
                "send_message", {"replica_id": replica_id, "message": "Add a test"}
            )
            with anyio.fail_after(10):
                await arrived.wait()
            await client.unsubscribe_resource(uri)  # pyright: ignore[reportDeprecated]
            await _no_streams(emulator_here, replica_id)

    assert set(updates) == {uri}


async def test_waiting_on_a_replica_that_does_not_exist_is_an_error(
    client: Client,
) -> None:
    result = await client.call_tool(
        "wait_for_replicas", {"replica_ids": [UNKNOWN_ID], "timeout": 5}
    )

    assert result.is_error
    assert f"replica {UNKNOWN_ID} not found" in text_of(result)


async def test_a_batch_where_nothing_was_created_is_an_error(client: Client) -> None:
    result = await client.call_tool(
        "create_replicas",
        {
            "replicas": [
                {"name": "a", "message": "x", "repository_ids": [UNKNOWN_ID]},
                {"name": "b", "message": "y"},
            ]
        },
    )

    assert result.is_error
    assert "no replica was created" in text_of(result)
    assert "a: " in text_of(result) and "b: " in text_of(result)


async def test_a_batch_with_repeated_names_is_refused(client: Client) -> None:
    replicas = [{"name": "twin", "message": "x", "environment_id": UNKNOWN_ID}] * 2

    result = await client.call_tool("create_replicas", {"replicas": replicas})

    assert result.is_error and "repeated: twin" in text_of(result)
