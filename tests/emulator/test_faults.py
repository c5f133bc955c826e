"""Fault injection as an HTTP client sees it, over a real loopback socket."""

import json
import time
from collections.abc import Iterator

import anyio
import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer

from ._support import (
    API_ENVIRONMENT,
    API_KEY,
    VERSION_HEADER,
    Json,
    agent_events,
    create,
    fast_config,
    wait_idle,
    wait_until,
)

pytestmark = pytest.mark.anyio

LIST = "/v1/replica"


@pytest.fixture(autouse=True)
def no_faults_left(emulator: EmulatorServer) -> Iterator[None]:
    """Give every test a clean rule set and log on the shared server."""
    emulator.faults.clear()
    emulator.faults.clear_log()
    yield
    emulator.faults.clear()
    emulator.faults.clear_log()


def names_in(emulator: EmulatorServer, name: str) -> int:
    """Count the replicas of organisation acme called `name`."""
    return sum(1 for r in emulator.state.replicas("acme") if r.name == name)


def create_body(name: str) -> Json:
    """A create request for the api environment."""
    return {"name": name, "message": "Add a test", "environment_id": API_ENVIRONMENT}


def prompts(emulator: EmulatorServer, replica_id: str) -> list[str]:
    """The user prompts in a replica's history, oldest first."""
    texts: list[str] = []
    for event in agent_events(emulator.state, replica_id):
        if event["type"] != "claude-user":
            continue
        blocks: list[Json] = event["payload"]["message"]["content"]
        texts += [b["text"] for b in blocks if b["type"] == "text"]
    return texts


async def statuses(client: httpx2.AsyncClient, count: int) -> list[int]:
    """GET the replica list `count` times and return the status codes."""
    return [(await client.get(LIST)).status_code for _ in range(count)]


# Nothing configured, nothing matched


async def test_without_rules_nothing_is_injected(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """An emulator without rules answers as usual and logs no fault."""
    response = await client.get(LIST)

    assert not emulator.faults.enabled
    assert response.status_code == 200
    assert emulator.faults.injected == ()


async def test_rules_never_touch_requests_they_do_not_match(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Method and path glob both must match; `*` stays inside one segment."""
    replica = await create(client, name="unmatched")
    emulator.faults.inject("POST /v1/replica:status=503")
    emulator.faults.inject("GET /v1/replica/*:drop")
    emulator.faults.inject("DELETE /v1/replica/**:status=500")

    listing = await client.get(LIST)
    history = await client.get(f"/v1/replica/{replica['id']}/history")
    message = await client.post(
        f"/v1/replica/{replica['id']}/messages", json={"message": "More tests"}
    )

    assert [listing.status_code, history.status_code, message.status_code] == [
        200,
        200,
        200,
    ]
    assert emulator.faults.injected == ()


# Each kind


async def test_latency_delays_the_answer(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """latency=S waits S seconds, then serves the request as usual."""
    emulator.faults.inject("GET /v1/replica:latency=0.2")

    started = time.monotonic()
    with anyio.fail_after(5):
        response = await client.get(LIST)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert "replicas" in response.json()
    assert elapsed >= 0.2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, "Too Many Requests"),
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
    ],
)
async def test_status_answers_the_error_envelope(
    emulator: EmulatorServer, client: httpx2.AsyncClient, status: int, error: str
) -> None:
    """status=CODE answers CODE with `{error, details}`, as the API's errors."""
    emulator.faults.inject(f"GET /v1/replica:status={status}")

    response = await client.get(LIST)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    spec = f"GET /v1/replica:status={status}"
    assert response.json() == {
        "error": error,
        "details": f"Injected by the Replicas emulator ({spec})",
    }
    assert "retry-after" not in response.headers


async def test_429_can_carry_retry_after(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """retry_after=S sends `Retry-After: S` with the error."""
    emulator.faults.inject("GET /v1/replica:status=429:retry_after=7")

    response = await client.get(LIST)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


async def test_a_status_fault_never_reaches_the_api(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A create answered 503 by a fault creates nothing."""
    emulator.faults.inject("POST /v1/replica:status=503")

    response = await client.post(
        LIST, json=create_body("never-created"), headers=VERSION_HEADER
    )

    assert response.status_code == 503
    assert names_in(emulator, "never-created") == 0


@pytest.mark.parametrize(("spec", "status"), [("html", 502), ("html=503", 503)])
async def test_html_answers_a_proxy_error_page(
    emulator: EmulatorServer, client: httpx2.AsyncClient, spec: str, status: int
) -> None:
    """html answers an HTML page that is no JSON at all."""
    emulator.faults.inject(f"GET /v1/replica:{spec}")

    response = await client.get(LIST)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_malformed_serves_the_request_but_breaks_the_json(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """malformed answers 200 with half a body; the create still happened."""
    emulator.faults.inject("POST /v1/replica:malformed")

    response = await client.post(
        LIST, json=create_body("malformed-reply"), headers=VERSION_HEADER
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text.startswith('{"replica":')
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert names_in(emulator, "malformed-reply") == 1


async def test_drop_resets_the_connection_without_an_answer(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """drop is a transport error for the client; the server serves on."""
    emulator.faults.inject("GET /v1/replica:drop:times=1")

    with anyio.fail_after(5), pytest.raises(httpx2.ReadError):
        await client.get(LIST)
    after = await client.get(LIST)

    assert after.status_code == 200


async def test_drop_of_a_create_creates_nothing(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The request never reaches the API, unlike with `lose`."""
    emulator.faults.inject("POST /v1/replica:drop")

    with anyio.fail_after(5), pytest.raises(httpx2.TransportError):
        await client.post(LIST, json=create_body("dropped"), headers=VERSION_HEADER)

    assert names_in(emulator, "dropped") == 0


async def test_cut_ends_an_event_stream_mid_turn(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """cut=N lets N events through, then the stream breaks off."""
    replica = await create(client, name="cut-stream")
    replica_id = replica["id"]
    await wait_idle(emulator.state, replica_id)
    emulator.faults.inject("GET /v1/replica/*/events:cut=4")
    seen: list[str] = []
    failure: list[Exception] = []

    async def listen() -> None:
        try:
            async with client.sse(f"/v1/replica/{replica_id}/events") as source:
                async for message in source:
                    seen.append(json.loads(message.data)["type"])
        except httpx2.TransportError as exc:
            failure.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(listen)
            await wait_until(lambda: emulator.state.open_streams(replica_id) == 1)
            await client.post(
                f"/v1/replica/{replica_id}/messages", json={"message": "Add a test"}
            )

    assert seen == [
        "engine.ready",
        "hooks.status",
        "chat.turn.accepted",
        "chat.updated",
    ]
    assert [type(exc) for exc in failure] == [httpx2.RemoteProtocolError]
    await wait_until(lambda: emulator.state.open_streams(replica_id) == 0)
    # Only the connection went: the turn goes on to its end.
    await wait_idle(emulator.state, replica_id)
    assert prompts(emulator, replica_id)[-1] == "Add a test"


async def test_cut_of_a_plain_answer_breaks_its_body(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """On a JSON route the headers arrive, then the connection closes."""
    emulator.faults.inject("GET /v1/replica:cut=0")

    with anyio.fail_after(5), pytest.raises(httpx2.RemoteProtocolError):
        await client.get(LIST)


async def test_lose_commits_a_create_then_resets_the_connection(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """lose: the client sees a transport error, yet the replica exists."""
    emulator.faults.inject("POST /v1/replica:lose")

    with anyio.fail_after(5), pytest.raises(httpx2.ReadError):
        await client.post(LIST, json=create_body("lost-reply"), headers=VERSION_HEADER)

    assert names_in(emulator, "lost-reply") == 1
    listing = await client.get(LIST, params={"limit": 100})
    assert "lost-reply" in [r["name"] for r in listing.json()["replicas"]]


@pytest.mark.parametrize("spec", ["lose", "lose=502"])
async def test_lose_queues_the_message_that_the_client_saw_fail(
    emulator: EmulatorServer, client: httpx2.AsyncClient, spec: str
) -> None:
    """A lost message reply still delivers the message, exactly once."""
    replica = await create(client, name=f"lost-message-{spec}")
    replica_id = replica["id"]
    await wait_idle(emulator.state, replica_id)
    emulator.faults.inject(f"POST /v1/replica/{{id}}/messages:{spec}")
    text = f"Document the cache ({spec})"

    path = f"/v1/replica/{replica_id}/messages"
    with anyio.fail_after(5):
        try:
            response = await client.post(path, json={"message": text})
            failure = f"HTTP {response.status_code}: {response.json()['error']}"
        except httpx2.TransportError as exc:
            failure = type(exc).__name__

    assert failure == ("ReadError" if spec == "lose" else "HTTP 502: Bad Gateway")
    await wait_idle(emulator.state, replica_id)
    assert prompts(emulator, replica_id).count(text) == 1


async def test_lose_of_an_event_stream_resets_it(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A stream's reply cannot be kept, so it is lost at once."""
    replica = await create(client, name="lost-stream")
    await wait_idle(emulator.state, replica["id"])
    emulator.faults.inject("GET /v1/replica/*/events:lose")

    with anyio.fail_after(5), pytest.raises(httpx2.TransportError):
        async with client.sse(f"/v1/replica/{replica['id']}/events") as source:
            async for _ in source:
                pass


async def test_malformed_event_stream_sends_a_broken_event(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """On the stream route the client gets one event that is not JSON."""
    replica = await create(client, name="malformed-stream")
    await wait_idle(emulator.state, replica["id"])
    emulator.faults.inject("GET /v1/replica/*/events:malformed")
    data: list[str] = []

    with anyio.fail_after(5):
        async with client.sse(f"/v1/replica/{replica['id']}/events") as source:
            data += [message.data async for message in source]

    assert data == ['{"id":"evt_']
    await wait_until(lambda: emulator.state.open_streams(replica["id"]) == 0)


# Which calls


async def test_after_and_times_choose_the_calls(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """after=1:times=2 skips the first match, fails two, then stops."""
    emulator.faults.inject("GET /v1/replica:status=503:after=1:times=2")

    assert await statuses(client, 5) == [200, 503, 503, 200, 200]
    assert [f.call for f in emulator.faults.injected] == [2, 3]


async def test_every_fires_on_every_kth_match(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """every=3 fails the 3rd, 6th, ... matching request."""
    emulator.faults.inject("GET /v1/replica:status=500:every=3")

    assert await statuses(client, 7) == [200, 200, 500, 200, 200, 500, 200]


async def test_rules_count_only_the_requests_they_match(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Requests to other routes do not move a rule's count on."""
    emulator.faults.inject("GET /v1/replica:status=503:after=2:times=1")

    first = await statuses(client, 2)
    other = await client.get("/v1/replica/repositories")
    third = await statuses(client, 1)

    assert (first, other.status_code, third) == ([200, 200], 200, [503])


async def test_rate_with_a_seed_repeats_exactly(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The same seed fails the same calls; another seed fails others."""
    runs: list[list[int]] = []
    for seed in (42, 42, 43):
        emulator.faults.clear()
        emulator.faults.inject(f"GET /v1/replica:status=500:rate=0.3:seed={seed}")
        runs.append(await statuses(client, 40))

    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert 0 < runs[0].count(500) < 40


async def test_latency_rules_stack_with_the_rule_that_decides(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A latency rule lets the request on to later rules, which still apply."""
    emulator.faults.inject("*:latency=0.1")
    emulator.faults.inject("GET /v1/replica:status=503")

    started = time.monotonic()
    response = await client.get(LIST)

    assert response.status_code == 503
    assert time.monotonic() - started >= 0.1
    assert [f.kind for f in emulator.faults.injected] == ["latency", "status"]


async def test_the_first_rule_that_fires_decides(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Later rules do not see, or count, a request an earlier rule took."""
    emulator.faults.inject("GET /v1/replica:status=503:times=1")
    emulator.faults.inject("GET /v1/replica:status=500:times=1")

    assert await statuses(client, 3) == [503, 500, 200]
    assert [(f.rule, f.call) for f in emulator.faults.injected] == [
        ("GET /v1/replica:status=503:times=1", 1),
        ("GET /v1/replica:status=500:times=1", 1),
    ]


async def test_the_log_says_what_was_injected_where(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """`injected` lists each fault; `counts` sums them by kind."""
    replica = await create(client, name="logged")
    emulator.faults.inject("GET /v1/replica/{id}/hooks:html:times=1")
    emulator.faults.inject("GET /v1/replica:status=429:times=2")

    await client.get(f"/v1/replica/{replica['id']}/hooks")
    await statuses(client, 3)

    first = emulator.faults.injected[0]
    assert (first.kind, first.method, first.path, first.call) == (
        "html",
        "GET",
        f"/v1/replica/{replica['id']}/hooks",
        1,
    )
    assert emulator.faults.counts() == {"html": 1, "status": 2}


async def test_rules_from_the_config_apply_from_the_first_request() -> None:
    """EmulatorConfig.faults takes specs; they are in force at start-up."""
    config = fast_config(faults=("GET /v1/replica:status=500:times=1",))
    async with EmulatorServer(config) as server:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx2.AsyncClient(
            base_url=server.base_url, headers=headers
        ) as http:
            codes = await statuses(http, 2)

    assert codes == [500, 200]
