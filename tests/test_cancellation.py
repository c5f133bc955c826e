"""Cancelled calls leave the server alive, answering, and without stuck requests."""

import random
import sys

import anyio
import pytest
from mcp import Client, StdioServerParameters

from replicas_mcp.emulator import EmulatorConfig, EmulatorServer

from .jsonrpc import clean_env

pytestmark = pytest.mark.anyio

KEY = "sk_replicas_cancel"
LATENCY = 0.05


async def test_fifty_cancels_just_as_replies_arrive_leave_the_server_answering() -> (
    None
):
    """Each call is cancelled around the moment its upstream reply lands."""
    config = EmulatorConfig(
        api_keys={KEY: "acme"}, faults=(f"GET /v1/replica:latency={LATENCY}",)
    )
    chance = random.Random(7)

    async with EmulatorServer(config) as emulator:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "replicas_mcp", "serve"],
            env=clean_env(REPLICAS_API_KEY=KEY, REPLICAS_BASE_URL=emulator.base_url),
        )
        async with Client(server) as client:
            await client.call_tool("list_replicas", {})
            for _ in range(50):
                with anyio.move_on_after(LATENCY * chance.uniform(0.6, 1.6)):
                    await client.call_tool("list_replicas", {})

            with anyio.fail_after(10):
                result = await client.call_tool("list_replicas", {})

    assert not result.is_error
    assert result.structured_content is not None


async def test_a_call_stuck_upstream_can_be_cancelled_and_the_server_goes_on() -> None:
    """A 30 s upstream stall does not hold the server once the caller gives up."""
    config = EmulatorConfig(
        api_keys={KEY: "acme"}, faults=("GET /v1/replica:latency=30",)
    )

    async with EmulatorServer(config) as emulator:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "replicas_mcp", "serve"],
            env=clean_env(REPLICAS_API_KEY=KEY, REPLICAS_BASE_URL=emulator.base_url),
        )
        async with Client(server) as client:
            with anyio.move_on_after(0.5):
                await client.call_tool("list_replicas", {})
            emulator.faults.clear()

            with anyio.fail_after(10):
                repositories = await client.call_tool("list_repositories", {})

    assert not repositories.is_error
