"""Arguments the way real hosts send them, and clear refusals otherwise."""

import base64
import json

import pytest
from mcp import Client

from ._helpers import UNKNOWN_ID, create, error, ok, tiny_png

pytestmark = pytest.mark.anyio


async def _repo_id(client: Client) -> str:
    catalog = await ok(client, "list_repositories", {})
    return catalog["repositories"][0]["id"]


@pytest.mark.parametrize(
    "shape",
    ["json-string", "bare-id", "comma-list"],
)
async def test_an_id_array_sent_as_a_string_is_understood(
    mcp_client: Client, shape: str
) -> None:
    repo_id = await _repo_id(mcp_client)
    sent = {
        "json-string": json.dumps([repo_id]),
        "bare-id": repo_id,
        "comma-list": f" {repo_id} , ",
    }[shape]

    replica = await create(mcp_client, repository_ids=sent)

    assert replica["repositories"]


async def test_numbers_and_booleans_sent_as_strings_are_understood(
    mcp_client: Client,
) -> None:
    replica = await create(mcp_client, plan_mode="true")

    page = await ok(mcp_client, "list_replicas", {"limit": "5", "page": "1"})
    asked = await ok(
        mcp_client,
        "wait_for_replicas",
        {"replica_ids": replica["id"], "until": "needs_input", "timeout": "20"},
    )

    assert len(page["replicas"]) <= 5
    assert asked["replicas"][0]["state"] == "needs_input"


async def test_empty_strings_for_optional_arguments_mean_not_given(
    mcp_client: Client,
) -> None:
    replica = await create(
        mcp_client,
        repository_set_id="",
        environment_id="",
        coding_agent="",
        model="",
        plan_mode="",
        images="",
    )

    page = await ok(mcp_client, "list_replicas", {"status": "", "limit": ""})

    assert page["replicas"][0]["id"] == replica["id"]


async def test_images_sent_as_a_json_string_are_understood(mcp_client: Client) -> None:
    png = base64.b64encode(tiny_png()).decode()
    images = json.dumps([{"data": f"data:image/png;base64,{png}"}])

    replica = await create(mcp_client, images=images)

    assert replica["id"]


async def test_a_bad_value_is_refused_naming_the_field(mcp_client: Client) -> None:
    text = await error(mcp_client, "list_replicas", {"limit": "lots", "page": 0})

    assert text.startswith("invalid arguments for list_replicas:")
    assert "limit:" in text and "'lots'" in text
    assert "page:" in text and "greater than or equal to 1" in text
    assert "errors.pydantic.dev" not in text


async def test_a_missing_required_argument_is_named(mcp_client: Client) -> None:
    text = await error(mcp_client, "send_message", {"message": "hi"})

    assert "replica_id is required" in text


async def test_an_unknown_include_value_lists_the_allowed_ones(
    mcp_client: Client,
) -> None:
    text = await error(
        mcp_client, "get_replica", {"replica_id": UNKNOWN_ID, "include": ["chats"]}
    )

    assert "include.0" in text and "'environment'" in text and "'diffs'" in text


async def test_a_number_never_reaches_the_api_where_an_id_list_is_due(
    mcp_client: Client,
) -> None:
    text = await error(
        mcp_client, "create_replica", {"name": "n", "message": "m", "repository_ids": 7}
    )

    assert "repository_ids" in text


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("list_replicas", {"status": "ACTIVE; DROP"}, "status 'ACTIVE; DROP'"),
        (
            "create_chat",
            {"replica_id": UNKNOWN_ID, "provider": "Claude Code"},
            "provider",
        ),
        (
            "create_replica",
            {"name": "x", "message": "y", "environment_id": "env-1"},
            "environment_id 'env-1' is not an id",
        ),
        (
            "create_replica",
            {"name": "x", "message": "y", "repository_ids": '["not-an-id"'},
            "repository_ids[0]",
        ),
        ("get_history", {"replica_id": UNKNOWN_ID, "limit": 0}, "limit:"),
        ("wait_for_replicas", {"replica_ids": "abc"}, "replica_ids[0] 'abc'"),
        (
            "create_replica",
            {"name": "ctrl\u0000char", "message": "m", "repository_ids": UNKNOWN_ID},
            "control characters",
        ),
        (
            "create_replicas",
            {"replicas": [{"name": "a", "message": "m", "bogus": 1}]},
            "bogus",
        ),
    ],
    ids=[
        "status",
        "provider",
        "environment-id",
        "broken-json-ids",
        "limit",
        "id-in-a-list",
        "control-character",
        "unknown-key-in-a-batch",
    ],
)
async def test_malformed_values_are_refused_before_any_request(
    mcp_client: Client, tool: str, arguments: dict[str, object], says: str
) -> None:
    text = await error(mcp_client, tool, arguments)

    assert says in text


async def test_an_unknown_but_plausible_agent_is_left_for_the_api_to_judge(
    mcp_client: Client,
) -> None:
    """New agents appear upstream first; the API's answer names the field."""
    catalog = await ok(mcp_client, "list_repositories", {})

    text = await error(
        mcp_client,
        "create_replica",
        {
            "name": "x",
            "message": "y",
            "repository_ids": [catalog["repositories"][0]["id"]],
            "coding_agent": "deepseek",
        },
    )

    assert "400" in text and "coding_agent" in text
