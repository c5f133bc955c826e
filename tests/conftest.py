"""Shared fixtures: a real emulator on a loopback port, clients that talk to it."""

from collections.abc import AsyncIterator, Iterator

import pytest
from mcp import Client

from replicas_mcp.api import ReplicasClient
from replicas_mcp.emulator import EmulatorConfig, EmulatorServer
from replicas_mcp.server import build_server

API_KEY = "sk_replicas_test_acme"
OTHER_ORG_KEY = "sk_replicas_test_globex"
# Run a test once per protocol revision the SDK client can speak.
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"], ids=["2026", "2025"])

# Fast enough for tests, slow enough that "preparing" and "working" are states
# a test can observe.
FAST = EmulatorConfig(
    api_keys={API_KEY: "acme", OTHER_ORG_KEY: "globex"},
    boot_delay=0.05,
    wake_delay=0.05,
    turn_step_delay=0.02,
    heartbeat_interval=0.2,
    large_replicas=True,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """One emulator for the whole session, served by uvicorn in a thread."""
    with EmulatorServer(FAST).run_in_thread() as running:
        yield running


@pytest.fixture
def faults(emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    """The session emulator, with every fault rule removed after the test."""
    yield emulator
    emulator.faults.clear()


@pytest.fixture
async def api(emulator: EmulatorServer) -> AsyncIterator[ReplicasClient]:
    async with ReplicasClient(api_key=API_KEY, base_url=emulator.base_url) as client:
        yield client


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "2025-11-25"])
async def mcp_client(
    request: pytest.FixtureRequest, api: ReplicasClient
) -> AsyncIterator[Client]:
    """An MCP client on the in-memory transport, once per protocol era."""
    server = build_server(client=api)
    async with Client(server, mode=request.param) as client:
        yield client
