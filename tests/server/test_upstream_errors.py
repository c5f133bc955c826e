"""Every upstream failure reaches the model as one clear line, never raw."""

from collections.abc import AsyncIterator

import pytest
from mcp import Client

from replicas_mcp.api import ReplicasClient, RetryPolicy
from replicas_mcp.emulator import EmulatorServer
from replicas_mcp.server import build_server

from ..conftest import API_KEY
from ._helpers import UNKNOWN_ID, text_of

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(attempts=2, total=2.0, wait_initial=0.01, wait_max=0.02)


@pytest.fixture
async def client(faults: EmulatorServer) -> AsyncIterator[Client]:
    async with ReplicasClient(
        api_key=API_KEY, base_url=faults.base_url, retry=FAST
    ) as api:
        async with Client(build_server(client=api)) as client:
            yield client


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("status=401", ["HTTP 401", "REPLICAS_API_KEY"]),
        ("status=403", ["HTTP 403", "admin"]),
        ("status=409", ["HTTP 409", "get_replica"]),
        ("status=422", ["HTTP 422", "fix them"]),
        ("status=429:retry_after=1", ["HTTP 429", "retry in 1 s"]),
        ("html=500", ["HTTP 500", "retry in a minute"]),
        ("html=503", ["HTTP 503", "retry in a minute"]),
        ("malformed", ["not JSON", "retry"]),
        ("drop", ["could not reach", "check REPLICAS_BASE_URL"]),
    ],
)
async def test_an_upstream_failure_is_one_actionable_line(
    client: Client, faults: EmulatorServer, fault: str, says: list[str]
) -> None:
    faults.faults.inject(f"GET /v1/replica:{fault}")

    result = await client.call_tool("list_replicas", {})

    text = text_of(result)
    assert result.is_error and result.structured_content is None
    for part in says:
        assert part in text, text
    assert "\n" not in text and "<" not in text
    assert text != "Error executing tool list_replicas"


async def test_a_missing_replica_is_a_404_with_the_next_step(client: Client) -> None:
    result = await client.call_tool("get_replica", {"replica_id": UNKNOWN_ID})

    assert result.is_error
    assert "HTTP 404" in text_of(result) and "list_replicas" in text_of(result)
