"""Validate emulator responses against the vendor's OpenAPI document.

Set REPLICAS_OPENAPI_SPEC to the path of `replicas-openapi.json`. Two documented
divergences (FIDELITY.md) are undone before validation, and separate tests
prove that each one is real, so neither can hide another difference.
"""

import copy
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from replicas_mcp.emulator import EmulatorServer, large_replica_ids

from ._support import (
    GLOBAL_ENVIRONMENT,
    PNG_BASE64,
    UNKNOWN_ID,
    VERSION_HEADER,
    WEB_ENVIRONMENT,
    Json,
    create,
    read_events,
    turn_finished,
    wait_idle,
    wait_status,
    wait_until,
)

pytestmark = pytest.mark.anyio

SPEC_URI = "urn:replicas:openapi"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# Every operation the emulator implements, as documented paths.
IMPLEMENTED = {
    ("GET", "/v1/replica/repositories"),
    ("GET", "/v1/replica/repository-sets"),
    ("POST", "/v1/replica"),
    ("GET", "/v1/replica"),
    ("GET", "/v1/replica/{id}"),
    ("DELETE", "/v1/replica/{id}"),
    ("POST", "/v1/replica/{id}/messages"),
    ("GET", "/v1/replica/{id}/chats"),
    ("POST", "/v1/replica/{id}/chats"),
    ("DELETE", "/v1/replica/{id}/chats/{chatId}"),
    ("GET", "/v1/replica/{id}/chats/{chatId}/queue"),
    ("DELETE", "/v1/replica/{id}/chats/{chatId}/queue"),
    ("DELETE", "/v1/replica/{id}/chats/{chatId}/queue/{messageId}"),
    ("PATCH", "/v1/replica/{id}/chats/{chatId}/queue/reorder"),
    ("GET", "/v1/replica/{id}/history"),
    ("GET", "/v1/replica/{id}/hooks"),
    ("GET", "/v1/replica/{id}/events"),
    ("GET", "/v1/environments"),
    ("GET", "/v1/environments/{id}"),
    ("POST", "/v1/workspaces/{workspaceId}/sleep"),
    ("POST", "/v1/workspaces/{workspaceId}/archive"),
}


def _pointer_part(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")


def _check_timestamp(value: object) -> bool:
    return not isinstance(value, str) or bool(TIMESTAMP.match(value))


def _check_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


class Spec:
    """The OpenAPI document, able to validate a response against its schema."""

    def __init__(self, path: Path) -> None:
        self.document: Json = json.loads(path.read_text())
        resource = Resource.from_contents(
            self.document, default_specification=DRAFT202012
        )
        registry: Registry[Any] = Registry()
        self.registry = registry.with_resource(SPEC_URI, resource)
        self.formats = FormatChecker()
        # A26 pins timestamps to milliseconds and Z, stricter than RFC 3339.
        self.formats.checks("date-time")(_check_timestamp)
        self.formats.checks("uri")(_check_uri)

    def schema_pointer(self, method: str, template: str, status: int) -> str:
        """Return the JSON pointer of a documented response's schema."""
        responses = self.document["paths"][template][method.lower()]["responses"]
        assert str(status) in responses, f"{method} {template} documents no {status}"
        pointer = "/".join(
            ["", "paths", _pointer_part(template), method.lower(), "responses"]
        )
        pointer += f"/{status}"
        response = responses[str(status)]
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            name = pointer.rsplit("/", 1)[1]
            response = self.document["components"]["responses"][name]

        media = next(iter(response["content"]))
        return f"{pointer}/content/{_pointer_part(media)}/schema"

    def errors(self, instance: Any, pointer: str) -> list[str]:
        """Validate `instance` against the schema at `pointer`."""
        validator = Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=self.registry,
            format_checker=self.formats,
        )
        # The stub's deprecated two-argument overload leaves a parameter untyped.
        found = validator.iter_errors(instance)  # pyright: ignore[reportUnknownMemberType]
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


@pytest.fixture(scope="module")
def spec() -> Spec:
    """Load the document named by REPLICAS_OPENAPI_SPEC, or skip."""
    location = os.environ.get("REPLICAS_OPENAPI_SPEC")
    if not location:
        pytest.skip(
            "REPLICAS_OPENAPI_SPEC is not set; point it at replicas-openapi.json "
            "to validate emulator responses"
        )
    return Spec(Path(location))


@dataclass
class Exchange:
    """One recorded response."""

    method: str
    template: str
    status: int
    body: Any


class Recorder:
    """Make requests by documented path template and keep every response."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client
        self.exchanges: list[Exchange] = []

    async def __call__(
        self, method: str, template: str, expect: int, **kwargs: Any
    ) -> Any:
        """Request `template` filled with `path` values; check the status."""
        path_values: dict[str, str] = kwargs.pop("path", {})
        url = template.format(**path_values)
        response = await self.client.request(method, url, **kwargs)
        assert response.status_code == expect, (method, url, response.text)
        body = response.json()
        self.exchanges.append(Exchange(method, template, expect, body))
        return body


def renest_history(body: Json) -> Json:
    """Undo A30: the schema wants each history payload to be a whole AgentEvent."""
    fixed = copy.deepcopy(body)
    fixed["events"] = [{**event, "payload": event} for event in body["events"]]
    return fixed


def drop_image_blocks(event: Json) -> Json:
    """Undo the image-block divergence in a Claude AgentEvent (FIDELITY.md)."""
    fixed = copy.deepcopy(event)
    message: Json | None = fixed["payload"].get("message")
    if fixed["type"].startswith("claude-") and message is not None:
        content: list[Json] = message.get("content", [])
        message["content"] = [b for b in content if b.get("type") != "image"]
    return fixed


def normalise(exchange: Exchange) -> Any:
    """Apply the documented divergence fixes to a recorded body."""
    body = exchange.body
    if exchange.template.endswith("/history") and exchange.status == 200:
        body = renest_history(body)
        body["events"] = [
            {**e, "payload": drop_image_blocks(e["payload"])} for e in body["events"]
        ]
    return body


def normalise_event(event: Json) -> Json:
    """Apply the divergence fixes to an SSE envelope."""
    if event["type"] != "chat.turn.delta":
        return event
    payload = {
        **event["payload"],
        "event": drop_image_blocks(event["payload"]["event"]),
    }
    return {**event, "payload": payload}


IMAGE = {
    "type": "image",
    "source": {"type": "base64", "media_type": "image/png", "data": PNG_BASE64},
}


async def exercise(emulator: EmulatorServer, call: Recorder) -> list[Json]:
    """Drive every implemented operation through its success and error statuses."""
    state = emulator.state
    await call("GET", "/v1/replica/repositories", 200)
    await call("GET", "/v1/replica/repository-sets", 200)
    await call("GET", "/v1/environments", 200)
    await call("GET", "/v1/environments/{id}", 200, path={"id": GLOBAL_ENVIRONMENT})
    await call("GET", "/v1/environments/{id}", 404, path={"id": UNKNOWN_ID})
    await call("GET", "/v1/environments/{id}", 400, path={"id": "abc"})

    create_body = {
        "name": "checked",
        "message": "Make the session TTL 24 hours, add a test and open a PR",
        "environment_id": WEB_ENVIRONMENT,
        "images": [IMAGE],
        "config": {"capabilities": {"pr_followups": False}},
        "webhook_url": {"url": "https://hooks.example.org/x", "secret": "s"},
    }
    created = await call(
        "POST", "/v1/replica", 201, json=create_body, headers=VERSION_HEADER
    )
    await call("POST", "/v1/replica", 201, json={**create_body, "name": "legacy"})
    await call("POST", "/v1/replica", 400, json={**create_body, "name": "a b"})
    missing = {**create_body, "environment_id": UNKNOWN_ID}
    await call("POST", "/v1/replica", 404, json=missing)

    replica_id = created["replica"]["id"]
    ids = {"id": replica_id}
    events: list[Json] = []
    async with anyio.create_task_group() as group:

        async def listen() -> None:
            await wait_status(state, replica_id, "active")
            events.extend(await read_events(call.client, replica_id, turn_finished))

        group.start_soon(listen)

    await wait_idle(state, replica_id)
    await call("GET", "/v1/replica", 200, params={"status": "active"})
    await call("GET", "/v1/replica", 400, params={"limit": "0"})
    include = {"include": "environment,diffs"}
    await call("GET", "/v1/replica/{id}", 200, path=ids, params=include)
    await call("GET", "/v1/replica/{id}", 404, path={"id": UNKNOWN_ID})
    await call("GET", "/v1/replica/{id}/hooks", 200, path=ids)
    await call("GET", "/v1/replica/{id}/hooks", 404, path={"id": UNKNOWN_ID})
    chats = await call("GET", "/v1/replica/{id}/chats", 200, path=ids)
    await call("GET", "/v1/replica/{id}/chats", 404, path={"id": UNKNOWN_ID})
    chat = await call(
        "POST", "/v1/replica/{id}/chats", 201, path=ids, json={"provider": "codex"}
    )
    await call("POST", "/v1/replica/{id}/chats", 400, path=ids, json={})
    await call("POST", "/v1/replica/{id}/chats", 404, path={"id": UNKNOWN_ID}, json={})

    message = {
        "message": "Explain the change",
        "chat_id": chat["id"],
        "images": [IMAGE],
    }
    await call("POST", "/v1/replica/{id}/messages", 200, path=ids, json=message)
    # The second one leaves the chat waiting for approval of an update_plan call.
    plan = {**message, "plan_mode": True}
    await call("POST", "/v1/replica/{id}/messages", 200, path=ids, json=plan)
    await call("POST", "/v1/replica/{id}/messages", 400, path=ids, json={})
    unknown_chat = {"message": "x", "chat_id": "nope"}
    await call("POST", "/v1/replica/{id}/messages", 404, path=ids, json=unknown_chat)
    await wait_idle(state, replica_id)
    await wait_until(lambda: state.chats_awaiting_input(replica_id) == [chat["id"]])
    await call("GET", "/v1/replica/{id}/chats", 200, path=ids)

    history = "/v1/replica/{id}/history"
    await call("GET", history, 200, path=ids, params={"limit": 5})
    codex_chat = {"chat_id": chat["id"], "offset": 2}
    await call("GET", history, 200, path=ids, params=codex_chat)
    await call("GET", history, 400, path=ids, params={"limit": "0"})
    await call("GET", history, 404, path={"id": UNKNOWN_ID})
    await call("GET", history, 404, path=ids, params={"chat_id": "nope"})

    await exercise_queue(call, replica_id, chats["chats"][0]["id"])

    chat_path = "/v1/replica/{id}/chats/{chatId}"
    both = {"id": replica_id, "chatId": chat["id"]}
    await call("DELETE", chat_path, 200, path=both)
    await call("DELETE", chat_path, 404, path=both)
    assert chats["chats"]

    sleep = "/v1/workspaces/{workspaceId}/sleep"
    archive = "/v1/workspaces/{workspaceId}/archive"
    workspace = {"workspaceId": replica_id}
    await call("POST", sleep, 200, path=workspace)
    await call("GET", "/v1/replica/{id}/events", 503, path=ids)
    await call("GET", "/v1/replica/{id}", 200, path=ids)
    await call("GET", history, 200, path=ids)
    await call("GET", "/v1/replica/{id}/chats", 200, path=ids)
    await call("POST", sleep, 409, path=workspace)
    await wait_status(state, replica_id, "active")
    await call("POST", archive, 200, path=workspace)
    carry_on = {"message": "Carry on"}
    await call("POST", "/v1/replica/{id}/messages", 200, path=ids, json=carry_on)
    await call("GET", "/v1/replica/{id}/events", 404, path={"id": UNKNOWN_ID})

    await wait_status(state, replica_id, "active")
    await wait_idle(state, replica_id)
    state.fail(state.find(replica_id), "Sandbox died")
    await call("POST", "/v1/replica/{id}/messages", 409, path=ids, json=carry_on)
    await call("POST", archive, 409, path=workspace)
    await call("DELETE", "/v1/replica/{id}", 200, path=ids)
    await call("DELETE", "/v1/replica/{id}", 404, path=ids)
    await call("POST", sleep, 404, path=workspace)

    anonymous = httpx2.AsyncClient(base_url=emulator.base_url)

    async with anonymous:
        nobody = Recorder(anonymous)
        for method, template in sorted(IMPLEMENTED):
            filled = {
                "id": replica_id,
                "chatId": "c",
                "workspaceId": replica_id,
                "messageId": "m",
            }
            await nobody(method, template, 401, path=filled)
        call.exchanges += nobody.exchanges

    return events


QUEUE = "/v1/replica/{id}/chats/{chatId}/queue"


async def exercise_queue(call: Recorder, replica_id: str, chat_id: str) -> Json:
    """Drive the four queue routes through 200, 400 and 404; return the listing."""
    both = {"id": replica_id, "chatId": chat_id}
    listing: Json = await call("GET", QUEUE, 200, path=both)
    waiting = [entry["id"] for entry in listing["queue"]] or ["msg_none"]

    reorder = f"{QUEUE}/reorder"
    move = {"messageId": waiting[-1], "position": 0}
    await call("PATCH", reorder, 200, path=both, json=move)
    await call("PATCH", reorder, 400, path=both, json={"messageId": waiting[0]})
    one = {**both, "messageId": waiting[0]}
    await call("DELETE", f"{QUEUE}/{{messageId}}", 200, path=one)
    await call("DELETE", QUEUE, 200, path=both)

    unknown = {"id": replica_id, "chatId": "nope"}
    await call("GET", QUEUE, 404, path=unknown)
    await call("DELETE", QUEUE, 404, path=unknown)
    await call(
        "DELETE", f"{QUEUE}/{{messageId}}", 404, path={**unknown, "messageId": "m"}
    )
    await call("PATCH", reorder, 404, path=unknown, json=move)
    await call("GET", QUEUE, 404, path={"id": UNKNOWN_ID, "chatId": "nope"})
    return listing


def validate_exchanges(spec: Spec, exchanges: list[Exchange]) -> list[str]:
    """Validate recorded responses; return one line per schema error."""
    problems: list[str] = []
    for exchange in exchanges:
        pointer = spec.schema_pointer(
            exchange.method, exchange.template, exchange.status
        )
        for error in spec.errors(normalise(exchange), pointer):
            problems.append(
                f"{exchange.method} {exchange.template} {exchange.status}: {error}"
            )
    return problems


async def test_responses_match_the_openapi_document(
    spec: Spec, emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Every exercised response validates against its documented schema."""
    call = Recorder(client)
    events = await exercise(emulator, call)

    problems = validate_exchanges(spec, call.exchanges)
    exercised = {(e.method, e.template) for e in call.exchanges if e.status < 300}
    assert exercised >= IMPLEMENTED - {("GET", "/v1/replica/{id}/events")}
    assert events, "the event stream produced nothing"
    event_pointer = spec.schema_pointer("GET", "/v1/replica/{id}/events", 200)
    for event in events:
        for error in spec.errors(normalise_event(event), event_pointer):
            problems.append(f"SSE {event['type']}: {error}")
    assert problems == []


@pytest.mark.parametrize(
    "emulator", [{"large_replicas": True}], indirect=True, ids=["large"]
)
async def test_large_replica_responses_match_the_openapi_document(
    spec: Spec, emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The 3 MB diff, long history pages and the cut hook log validate too."""
    ids = large_replica_ids("acme")
    diff = {"id": ids["large-diff"]}
    history = {"id": ids["large-history"]}
    hooks = {"id": ids["large-hooks"]}
    include = {"include": "diffs,environment"}
    call = Recorder(client)

    await call("GET", "/v1/replica/{id}", 200, path=diff, params=include)
    await call("GET", "/v1/replica/{id}", 200, path=hooks, params=include)
    await call("GET", "/v1/replica/{id}/hooks", 200, path=hooks)
    chats = await call("GET", "/v1/replica/{id}/chats", 200, path=history)
    # The newest page of each chat holds its monster (long text, long result).
    for chat in chats["chats"]:
        page = {"chat_id": chat["id"], "limit": 200}
        await call("GET", "/v1/replica/{id}/history", 200, path=history, params=page)

    assert validate_exchanges(spec, call.exchanges) == []


@pytest.mark.parametrize(
    "emulator", [{"boot_delay": 0.5}], indirect=True, ids=["slow-boots"]
)
async def test_queue_responses_match_the_openapi_document(
    spec: Spec, emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Parked messages, with and without senders, validate as QueuedMessageInfo."""
    replica = await create(client, "Tidy the README")
    attributed = {
        "message": "Also fix the typos",
        "senderUserId": "user_42",
        "senderEmail": "dev@example.org",
    }
    path = f"/v1/replica/{replica['id']}/messages"
    receipt = (await client.post(path, json=attributed)).json()
    call = Recorder(client)

    listing = await exercise_queue(call, replica["id"], receipt["chat_id"])

    assert [entry["message"] for entry in listing["queue"]] == [
        "Tidy the README",
        "Also fix the typos",
    ]
    assert emulator.state.find(replica["id"]).status == "preparing"
    assert validate_exchanges(spec, call.exchanges) == []


async def test_flat_history_events_are_a_real_divergence(
    spec: Spec, emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Raw history fails the nested HistoryEvent schema, renested it passes (A30)."""
    replica = await create(client, "Tidy the README")
    await wait_idle(emulator.state, replica["id"])
    body = (await client.get(f"/v1/replica/{replica['id']}/history")).json()
    pointer = spec.schema_pointer("GET", "/v1/replica/{id}/history", 200)

    assert spec.errors(body, pointer)
    assert spec.errors(renest_history(body), pointer) == []


async def test_image_blocks_are_a_real_divergence(
    spec: Spec, emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A Claude user event with an image block fails ClaudeContentBlock."""
    replica = await create(client, "What is wrong here?", images=[IMAGE])
    await wait_idle(emulator.state, replica["id"])
    body = (await client.get(f"/v1/replica/{replica['id']}/history")).json()
    user_event = body["events"][0]
    pointer = "/components/schemas/AgentEvent"

    assert spec.errors(user_event, pointer)
    assert spec.errors(drop_image_blocks(user_event), pointer) == []


def test_timestamp_format_check_is_strict(spec: Spec) -> None:
    """The date-time check used above rejects timestamps without milliseconds."""
    pointer = "/components/schemas/ReplicaChat"
    chat = {
        "id": "c",
        "provider": "claude",
        "title": "t",
        "created_at": "2026-07-21T14:03:11Z",
        "updated_at": "2026-07-21T14:03:11.482Z",
        "processing": False,
    }

    assert [e.split(":")[0] for e in spec.errors(chat, pointer)] == ["created_at"]
