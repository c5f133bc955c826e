"""Fixtures for the emulator suite: a real server on a loopback port per test."""

from collections.abc import AsyncGenerator
from typing import Any

import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer

from ._support import API_KEY, fast_config


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Run async tests on asyncio: uvicorn needs it."""
    return "asyncio"


@pytest.fixture(scope="module")
async def emulator(
    request: pytest.FixtureRequest,
) -> AsyncGenerator[EmulatorServer, None]:
    """Serve the emulator with tiny delays on a free loopback port.

    One server serves a whole test module, so tests must not assume an empty
    organisation (the `initech` key's organisation is left to listing tests).
    Parametrize it indirectly with a dict to get a server with other knobs.
    """
    overrides: dict[str, Any] = getattr(request, "param", {})
    async with EmulatorServer(fast_config(**overrides)) as server:
        yield server


@pytest.fixture
async def client(
    emulator: EmulatorServer,
) -> AsyncGenerator[httpx2.AsyncClient, None]:
    """An HTTP client authenticated with the test key of organisation acme."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    http = httpx2.AsyncClient(base_url=emulator.base_url, headers=headers)
    async with http:
        yield http
