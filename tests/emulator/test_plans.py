"""Plan mode: the agent posts a plan and waits for the user's reply (§8.3)."""

import json

import anyio
import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer, EmulatorState
from replicas_mcp.emulator.agent import is_approval

from ._support import (
    SLOW_TURNS,
    Json,
    agent_events,
    claude_blocks,
    create,
    get_json,
    plans,
    read_events,
    send,
    turn_finished,
    wait_for_plans,
    wait_idle,
    wait_status,
    wait_until,
)

pytestmark = pytest.mark.anyio

TASK = "Make the session TTL 24 hours"


def answer_to(events: list[Json], plan: Json) -> Json:
    """Return the tool result that resolved a plan's approval request."""
    found = claude_blocks(events, "tool_result")
    return next(r for r in found if r["tool_use_id"] == plan["id"])


def results(events: list[Json]) -> list[Json]:
    """Return the turn results (`claude-result` payloads)."""
    return [e["payload"] for e in events if e["type"] == "claude-result"]


def awaiting(event: Json) -> bool:
    """Tell whether an event says a chat now waits for the user's reply."""
    return event["type"] == "chat.updated" and event["payload"]["chat"]["awaitingInput"]


async def planned(
    state: EmulatorState, client: httpx2.AsyncClient, **extra: str
) -> str:
    """Create a replica whose first message asks for a plan; wait for the plan."""
    replica = await create(client, f"/plan {TASK}", **extra)
    await wait_for_plans(state, replica["id"], 1)
    return str(replica["id"])


async def diff_of(client: httpx2.AsyncClient, replica_id: str) -> str:
    """Return the replica's first repository diff."""
    details = await get_json(client, f"/v1/replica/{replica_id}", include="diffs")
    return str(details["replica"]["repository_statuses"][0]["git_diff"]["full_diff"])


async def test_a_plan_waits_for_input_and_stays_processing(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """After the plan, chat.updated says awaitingInput; no turn completes."""
    replica = await create(client)
    replica_id = replica["id"]
    await wait_idle(emulator.state, replica_id)
    diff_before = await diff_of(client, replica_id)
    events: list[Json] = []
    receipt: Json = {}

    async with anyio.create_task_group() as group:

        async def listen() -> None:
            events.extend(await read_events(client, replica_id, awaiting))

        group.start_soon(listen)
        await wait_until(lambda: emulator.state.open_streams(replica_id) == 1)
        receipt = await send(client, replica_id, message=TASK, plan_mode=True)

    types = [e["type"] for e in events]
    assert types[2:5] == ["chat.turn.accepted", "chat.updated", "chat.turn.started"]
    assert set(types[5:-1]) == {"chat.turn.delta"}
    assert "chat.turn.completed" not in types
    started, waiting = events[3]["payload"]["chat"], events[-1]["payload"]["chat"]
    assert (started["processing"], started["awaitingInput"]) == (True, False)
    assert (waiting["processing"], waiting["awaitingInput"]) == (True, True)
    last = events[-2]["payload"]["event"]["payload"]["message"]["content"][0]
    assert last["name"] == "ExitPlanMode"
    assert last["input"]["plan"].startswith(f"Plan for: {TASK}")

    chats = await get_json(client, f"/v1/replica/{replica_id}/chats")
    assert [c["processing"] for c in chats["chats"]] == [True]
    assert emulator.state.chats_awaiting_input(replica_id) == [receipt["chat_id"]]
    assert await diff_of(client, replica_id) == diff_before


async def test_the_pending_plan_is_an_open_exit_plan_mode_call(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """`/plan` is stripped; history ends with the ExitPlanMode tool use."""
    replica_id = await planned(emulator.state, client)

    history = await get_json(client, f"/v1/replica/{replica_id}/history")

    events = history["events"]
    assert events[0]["payload"]["message"]["content"][0]["text"] == TASK
    question = events[-1]["payload"]["message"]["content"][0]
    assert events[-1]["type"] == "claude-assistant"
    assert question["type"] == "tool_use"
    assert question["name"] == "ExitPlanMode"
    assert set(question["input"]) == {"plan"}
    assert "Approve the plan" in question["input"]["plan"]
    answered = {r["tool_use_id"] for r in claude_blocks(events, "tool_result")}
    assert question["id"] not in answered
    assert results(events) == []
    assert await diff_of(client, replica_id) == ""


async def test_approval_resumes_the_turn_and_makes_the_change(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """An approving reply answers the plan; the same turn edits and completes."""
    replica_id = await planned(emulator.state, client)
    question = plans(agent_events(emulator.state, replica_id))[0]
    events: list[Json] = []
    receipt: Json = {}

    async with anyio.create_task_group() as group:

        async def listen() -> None:
            events.extend(await read_events(client, replica_id, turn_finished))

        group.start_soon(listen)
        await wait_until(lambda: emulator.state.open_streams(replica_id) == 1)
        receipt = await send(client, replica_id, message="Looks good, go ahead")

    assert (receipt["status"], receipt["position"]) == ("sent", None)
    types = [e["type"] for e in events]
    assert types[2:4] == ["chat.turn.accepted", "chat.updated"]
    assert "chat.turn.started" not in types
    assert types[-2:] == ["chat.turn.completed", "chat.updated"]
    accepted = events[2]["payload"]
    assert (accepted["messageId"], accepted["queued"]) == (receipt["message_id"], False)
    resumed = events[3]["payload"]["chat"]
    assert (resumed["processing"], resumed["awaitingInput"]) == (True, False)
    assert events[-2]["payload"]["isComplete"] is True
    assert events[-1]["payload"]["chat"]["processing"] is False

    history = agent_events(emulator.state, replica_id)
    answer = answer_to(history, question)
    assert answer["is_error"] is False
    assert "Looks good, go ahead" in answer["content"]
    assert [r["subtype"] for r in results(history)] == ["success"]
    assert "+SESSION_TTL_SECONDS = 24 * 60" in await diff_of(client, replica_id)
    assert emulator.state.chats_awaiting_input(replica_id) == []


async def test_feedback_revises_the_plan_and_waits_again(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Any other reply is feedback: a refused call, a revised plan, more waiting."""
    replica_id = await planned(emulator.state, client)

    feedback = "Use 12 hours instead"
    await send(client, replica_id, message=feedback)
    await wait_for_plans(emulator.state, replica_id, 2)

    history = agent_events(emulator.state, replica_id)
    first, second = plans(history)
    refusal = answer_to(history, first)
    assert refusal["is_error"] is True
    assert feedback in refusal["content"]
    assert f"Revised after your feedback: {feedback}" in second["input"]["plan"]
    assert second["id"] != first["id"]
    assert results(history) == []
    assert await diff_of(client, replica_id) == ""

    await send(client, replica_id, message="approved")
    await wait_until(lambda: bool(results(agent_events(emulator.state, replica_id))))

    assert "+SESSION_TTL_SECONDS = 12 * 60" in await diff_of(client, replica_id)


async def test_codex_asks_with_an_update_plan_call(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A Codex plan is an update_plan function call left without output."""
    replica = await create(client, f"/plan {TASK}", coding_agent="codex")
    replica_id = replica["id"]
    await wait_until(lambda: bool(emulator.state.chats_awaiting_input(replica_id)))

    pending = agent_events(emulator.state, replica_id)[-1]["payload"]
    await send(client, replica_id, message="yes")
    await wait_idle(emulator.state, replica_id)

    assert (pending["type"], pending["name"]) == ("function_call", "update_plan")
    arguments = json.loads(pending["arguments"])
    assert arguments["explanation"].startswith(f"Plan for: {TASK}")
    assert [step["status"] for step in arguments["plan"]] == ["pending"] * 3
    items = [e["payload"] for e in agent_events(emulator.state, replica_id)]
    outputs = [
        i
        for i in items
        if i["type"] == "function_call_output" and i["call_id"] == pending["call_id"]
    ]
    assert [json.loads(o["output"])["metadata"] for o in outputs] == [{"exit_code": 0}]
    assert "custom_tool_call" in [i["type"] for i in items]


async def test_other_agents_ask_with_a_result_less_tool_event(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A Pi plan is an ExitPlanMode tool event; the reply is a second one."""
    replica = await create(client)
    replica_id = replica["id"]
    await wait_idle(emulator.state, replica_id)
    created = await client.post(
        f"/v1/replica/{replica_id}/chats", json={"provider": "pi"}
    )
    chat_id = created.json()["id"]

    await send(client, replica_id, message=f"/plan {TASK}", chat_id=chat_id)
    await wait_until(lambda: emulator.state.chats_awaiting_input(replica_id) != [])
    pending = agent_events(emulator.state, replica_id)[-1]

    assert pending["type"] == "pi-tool_execution_end"
    assert pending["payload"]["message"]["content"][0]["name"] == "ExitPlanMode"
    assert "result" not in pending["payload"]


@SLOW_TURNS
async def test_a_message_queued_while_planning_answers_the_plan(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A message sent before the plan is up is the reply once it is."""
    replica = await create(client, f"/plan {TASK}")
    replica_id = replica["id"]

    receipt = await send(client, replica_id, message="Go ahead")
    await wait_until(lambda: bool(results(agent_events(emulator.state, replica_id))))

    assert receipt["status"] == "queued"
    history = agent_events(emulator.state, replica_id)
    assert len(plans(history)) == 1
    assert answer_to(history, plans(history)[0])["is_error"] is False


async def test_a_when_done_policy_waits_for_the_reply(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """sleep_when_done does not act while the agent waits; it does once done."""
    replica_id = await planned(
        emulator.state, client, lifecycle_policy="sleep_when_done"
    )

    assert emulator.state.find(replica_id).status == "active"
    await send(client, replica_id, message="lgtm")
    await wait_status(emulator.state, replica_id, "sleeping")


async def test_a_plan_still_waits_after_sleep_and_wake(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The question survives a sleep; after the wake the reply still answers it."""
    replica_id = await planned(emulator.state, client)
    await client.post(f"/v1/workspaces/{replica_id}/sleep")

    await get_json(client, f"/v1/replica/{replica_id}")
    await wait_idle(emulator.state, replica_id)
    chats = await get_json(client, f"/v1/replica/{replica_id}/chats")
    awaiting_ids = emulator.state.chats_awaiting_input(replica_id)
    await send(client, replica_id, message="Proceed")
    await wait_until(lambda: bool(results(agent_events(emulator.state, replica_id))))

    assert [c["processing"] for c in chats["chats"]] == [True]
    assert awaiting_ids == [chats["chats"][0]["id"]]
    assert "+SESSION_TTL_SECONDS = 24 * 60" in await diff_of(client, replica_id)


@pytest.mark.parametrize("emulator", [{"idle_timeout": 0.05}], indirect=True)
async def test_waiting_for_a_reply_does_not_keep_a_replica_awake(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The idle timer runs while the agent waits; asleep, the question stays."""
    replica = await create(client, f"/plan {TASK}")

    await wait_status(emulator.state, replica["id"], "sleeping")

    assert len(plans(agent_events(emulator.state, replica["id"]))) == 1
    assert len(emulator.state.chats_awaiting_input(replica["id"])) == 1


@pytest.mark.parametrize(
    ("reply", "approves"),
    [
        ("approve", True),
        ("Yes, go ahead.", True),
        ("LGTM", True),
        ("Looks good to me, proceed", True),
        ("ok", True),
        ("Yes but use Redis", False),
        ("No, keep the old value", False),
        ("Don't touch the tests", False),
        ("Use 12 hours instead", False),
        ("What about the docs?", False),
        ("yesterday's build broke", False),
    ],
)
def test_approval_rule(reply: str, approves: bool) -> None:
    """A reply approves with an approving phrase and no word of reservation."""
    assert is_approval(reply) is approves
