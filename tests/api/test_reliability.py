"""The client against an emulator that fails on purpose.

Reads are retried within bounds; writes are never blindly repeated, and a
write whose reply was lost is looked for instead.
"""

import logging
from collections.abc import AsyncIterator

import pytest

from replicas_mcp.api import Recovered, RecoveredReceipt, ReplicasClient, RetryPolicy
from replicas_mcp.emulator import EmulatorServer
from replicas_mcp.errors import NotAppliedError, ServerError

from ..conftest import API_KEY
from ..waiting import turn_completed

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(attempts=4, total=5.0, wait_initial=0.01, wait_max=0.05)


@pytest.fixture
async def client(faults: EmulatorServer) -> AsyncIterator[ReplicasClient]:
    async with ReplicasClient(
        api_key=API_KEY, base_url=faults.base_url, retry=FAST
    ) as client:
        yield client


async def _repository(client: ReplicasClient) -> str:
    return (await client.list_repositories())[0].id


def _named(emulator: EmulatorServer, name: str) -> int:
    return sum(1 for r in emulator.state.replicas("acme") if r.name == name)


@pytest.mark.parametrize(
    ("spec", "times"),
    [("status=503", 2), ("status=429:retry_after=1", 1), ("drop", 2), ("html", 2)],
)
async def test_a_read_is_retried_through_passing_failures(
    client: ReplicasClient, faults: EmulatorServer, spec: str, times: int
) -> None:
    """429 says when to come back (whole seconds), so that case fails once."""
    rule = faults.faults.inject(f"GET /v1/replica:{spec}:times={times}")

    page = await client.list_replicas()

    assert page.total >= 0
    assert faults.faults.matched(rule) == times + 1


async def test_each_retry_is_logged_with_its_cause(
    client: ReplicasClient, faults: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    faults.faults.inject("GET /v1/replica:status=503:times=2")

    with caplog.at_level(logging.INFO, logger="replicas_mcp"):
        await client.list_replicas()

    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert all("503" in message for message in retries), retries
    assert API_KEY not in caplog.text


async def test_a_read_gives_up_after_its_attempts(
    client: ReplicasClient, faults: EmulatorServer
) -> None:
    rule = faults.faults.inject("GET /v1/replica:status=503")

    with pytest.raises(ServerError):
        await client.list_replicas()

    assert faults.faults.matched(rule) == FAST.attempts


async def test_a_500_is_not_retried(
    client: ReplicasClient, faults: EmulatorServer
) -> None:
    rule = faults.faults.inject("GET /v1/replica:status=500")

    with pytest.raises(ServerError):
        await client.list_replicas()

    assert faults.faults.matched(rule) == 1


@pytest.mark.parametrize("spec", ["status=503", "drop"])
async def test_a_failed_create_is_not_repeated_and_says_it_did_nothing(
    client: ReplicasClient, faults: EmulatorServer, spec: str
) -> None:
    repository = await _repository(client)
    rule = faults.faults.inject(f"POST /v1/replica:{spec}:times=1")
    name = f"not-made-{spec.split('=')[0]}"

    with pytest.raises(NotAppliedError) as caught:
        await client.create_replica(name=name, message="x", repository_ids=[repository])

    assert faults.faults.matched(rule) == 1
    assert _named(faults, name) == 0
    assert "was not created" in str(caught.value)


@pytest.mark.parametrize("spec", ["lose", "lose=502", "malformed"])
async def test_a_create_whose_reply_was_lost_is_found_not_repeated(
    client: ReplicasClient, faults: EmulatorServer, spec: str
) -> None:
    repository = await _repository(client)
    faults.faults.inject(f"POST /v1/replica:{spec}:times=1")
    name = f"lost-reply-{spec.replace('=', '')}"

    replica = await client.create_replica(
        name=name, message="x", repository_ids=[repository]
    )

    assert isinstance(replica, Recovered) and replica.name == name
    assert _named(faults, name) == 1


async def test_a_message_whose_reply_was_lost_is_found_in_the_chat(
    client: ReplicasClient, faults: EmulatorServer
) -> None:
    repository = await _repository(client)
    replica = await client.create_replica(
        name="lost-message", message="Start", repository_ids=[repository]
    )
    await turn_completed(client, replica.id)
    faults.faults.inject("POST /v1/replica/*/messages:lose:times=1")

    receipt = await client.send_message(replica.id, message="Add a changelog entry")
    await turn_completed(client, replica.id, turns=2)
    history = await client.get_history(replica.id)

    assert isinstance(receipt, RecoveredReceipt)
    prompt = {"type": "text", "text": "Add a changelog entry"}
    asked = [
        e
        for e in history.events
        if e.type == "claude-user" and prompt in e.payload["message"]["content"]
    ]
    assert len(asked) == 1


async def test_a_message_that_never_arrived_is_reported_as_not_sent(
    client: ReplicasClient, faults: EmulatorServer
) -> None:
    repository = await _repository(client)
    replica = await client.create_replica(
        name="dropped-message", message="Start", repository_ids=[repository]
    )
    await turn_completed(client, replica.id)
    faults.faults.inject("POST /v1/replica/*/messages:drop:times=1")

    with pytest.raises(NotAppliedError) as caught:
        await client.send_message(replica.id, message="Never arrives")

    assert "was not sent" in str(caught.value)
    history = await client.get_history(replica.id)
    assert "Never arrives" not in str([e.payload for e in history.events])
