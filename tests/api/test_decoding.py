"""Parsing of stream payloads and bodies, on hand-made input."""

import json
from typing import Any

import pytest

from replicas_mcp.api import decode_event
from replicas_mcp.models import History, HookLogs, ReplicaDetails

ENVELOPE = {
    "id": "evt_1",
    "ts": "2026-07-21T14:19:58.120Z",
    "type": "chat.turn.completed",
    "payload": {"chatId": "c1", "isComplete": True},
}


def test_a_well_formed_envelope_becomes_an_event() -> None:
    event = decode_event(json.dumps(ENVELOPE))

    assert event is not None
    assert event.type == "chat.turn.completed"
    assert event.payload == {"chatId": "c1", "isComplete": True}


@pytest.mark.parametrize(
    "data",
    ["", "   ", "ping", "[1, 2]", '"text"', '{"no": "type"}', '{"type": 5}'],
    ids=["empty", "blank", "not-json", "array", "string", "no-type", "type-not-str"],
)
def test_anything_but_an_event_object_is_skipped(data: str) -> None:
    assert decode_event(data) is None


def test_an_envelope_missing_its_id_is_skipped() -> None:
    broken = {key: value for key, value in ENVELOPE.items() if key != "id"}

    assert decode_event(json.dumps(broken)) is None


def test_unknown_event_types_and_enum_values_are_kept_as_strings() -> None:
    """New upstream values must never make a response unreadable."""
    event = decode_event(json.dumps(ENVELOPE | {"type": "robot.dance"}))
    replica = ReplicaDetails.model_validate(
        {
            "id": "r1",
            "name": "n",
            "status": "hibernating",
            "source": "carrier-pigeon",
            "created_at": "2026-07-21T14:03:11.482Z",
            "coding_agent": "deepseek",
        }
    )

    assert event is not None and event.type == "robot.dance"
    assert (replica.status, replica.source) == ("hibernating", "carrier-pigeon")
    assert replica.coding_agent == "deepseek"


def test_history_accepts_events_nested_the_way_the_schema_draws_them() -> None:
    flat: dict[str, Any] = {
        "timestamp": "2026-07-21T14:19:40Z",
        "type": "claude-result",
        "payload": {},
    }
    nested: dict[str, Any] = {
        "timestamp": "2026-07-21T14:19:40Z",
        "type": "x",
        "payload": flat,
    }

    history = History.model_validate(
        {"thread_id": None, "events": [nested], "total": 1, "hasMore": False}
    )

    assert history.events[0].type == "claude-result"
    assert history.has_more is False


def test_hook_logs_lose_the_logs_wrapper_and_keep_camel_case_fields() -> None:
    entry = {
        "hookType": "repository",
        "hookName": "acme/web",
        "output": "ok",
        "outputTruncated": False,
        "outputTotalChars": 2,
        "exitCode": 0,
        "timedOut": False,
        "executedAt": "2026-07-21T14:03:30Z",
    }

    hooks = HookLogs.model_validate(
        {"warm_hooks": {"logs": []}, "start_hooks": {"logs": [entry]}}
    )

    assert hooks.start_hooks[0].hook_name == "acme/web"
    assert hooks.start_hooks[0].model_dump(by_alias=True)["exitCode"] == 0
