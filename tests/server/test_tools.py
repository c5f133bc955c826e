"""The MCP tools and resources through a real MCP client, against the emulator."""

import base64
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import TextResourceContents
from pydantic import SecretStr

from replicas_mcp.api import ReplicasClient
from replicas_mcp.config import Settings
from replicas_mcp.emulator import EmulatorServer
from replicas_mcp.server import build_server

from ..waiting import turn_completed
from ._helpers import UNKNOWN_ID, create, error, ok, tiny_png

pytestmark = pytest.mark.anyio

TOOLS = {
    "list_repositories",
    "create_replica",
    "create_replicas",
    "wait_for_replicas",
    "list_replicas",
    "get_replica",
    "delete_replica",
    "send_message",
    "list_chats",
    "create_chat",
    "delete_chat",
    "get_history",
    "get_diff",
    "get_hooks",
}
WRITES = {
    "create_replica",
    "create_replicas",
    "delete_replica",
    "send_message",
    "create_chat",
    "delete_chat",
}


async def test_every_tool_is_listed_with_a_title_description_and_hints(
    mcp_client: Client,
) -> None:
    tools = (await mcp_client.list_tools()).tools

    assert {tool.name for tool in tools} == TOOLS
    for tool in tools:
        assert tool.title and tool.description, tool.name
        assert not tool.description.startswith((" ", "\n")), tool.name
        assert tool.annotations is not None, tool.name
        assert tool.annotations.open_world_hint is True, tool.name
        assert tool.output_schema is not None, tool.name


async def test_read_tools_are_marked_read_only_and_write_tools_are_not(
    mcp_client: Client,
) -> None:
    tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}

    read_only = {
        n for n, t in tools.items() if t.annotations and t.annotations.read_only_hint
    }

    assert read_only == TOOLS - WRITES


async def test_list_repositories_offers_every_create_target(mcp_client: Client) -> None:
    catalog = await ok(mcp_client, "list_repositories", {})

    assert catalog["repositories"] and catalog["repository_sets"]
    assert catalog["environments"]
    assert all(env["repositories"] for env in catalog["environments"])


async def test_a_delegation_runs_end_to_end(
    mcp_client: Client, api: ReplicasClient
) -> None:
    """Create, follow, then read history, hooks, status and diff."""
    replica = await create(mcp_client, message="Add a /healthz endpoint")
    await turn_completed(api, replica["id"])

    details = await ok(mcp_client, "get_replica", {"replica_id": replica["id"]})
    history = await ok(mcp_client, "get_history", {"replica_id": replica["id"]})
    hooks = await ok(mcp_client, "get_hooks", {"replica_id": replica["id"]})
    listed = await ok(mcp_client, "list_replicas", {"limit": 100})

    assert details["status"] == "active"
    assert not any(chat["processing"] for chat in details["chats"])
    assert details["repos"][0]["added"] > 0
    newest, oldest = history["messages"][0], history["messages"][-1]
    assert newest["kind"] == "result" and newest["text"] == "turn finished"
    assert oldest["role"] == "user" and "healthz" in oldest["text"]
    assert {run["phase"] for run in hooks["hooks"]} == {"warm", "start"}
    assert all(run["exit_code"] == 0 for run in hooks["hooks"])
    assert replica["id"] in {r["id"] for r in listed["replicas"]}


async def test_diffs_resource_is_a_unified_diff(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica = await create(mcp_client)
    await turn_completed(api, replica["id"])

    read = await mcp_client.read_resource(f"replicas://replica/{replica['id']}/diffs")

    content = read.contents[0]
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == "text/x-diff"
    assert content.text.startswith("diff --git a/")
    assert "\n@@ " in content.text


async def test_status_resource_is_the_replica_as_json(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica = await create(mcp_client)
    await turn_completed(api, replica["id"])

    read = await mcp_client.read_resource(f"replicas://replica/{replica['id']}")

    content = read.contents[0]
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == "application/json"
    assert f'"id":"{replica["id"]}"' in content.text.replace(" ", "")


async def test_resource_templates_are_listed(mcp_client: Client) -> None:
    templates = (await mcp_client.list_resource_templates()).resource_templates

    assert {t.uri_template for t in templates} == {
        "replicas://replica/{replica_id}",
        "replicas://replica/{replica_id}/diffs",
        "replicas://replica/{replica_id}/chats/{chat_id}/history",
        "replicas://replica/{replica_id}/hooks",
    }


async def test_send_message_continues_the_same_chat(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica = await create(mcp_client)
    await turn_completed(api, replica["id"])

    receipt = await ok(
        mcp_client,
        "send_message",
        {"replica_id": replica["id"], "message": "Also cover the error path"},
    )
    await turn_completed(api, replica["id"], turns=2)

    assert receipt["status"] == "sent"
    assert receipt["chat_id"]


async def test_plan_mode_asks_for_approval_before_changing_anything(
    mcp_client: Client,
) -> None:
    replica = await create(mcp_client, plan_mode=True)
    target = {"replica_ids": [replica["id"]], "timeout": 20}

    asked = await ok(mcp_client, "wait_for_replicas", target)
    diff_before = await ok(mcp_client, "get_diff", {"replica_id": replica["id"]})
    await ok(
        mcp_client,
        "send_message",
        {"replica_id": replica["id"], "message": "Approved, go ahead"},
    )
    done = await ok(mcp_client, "wait_for_replicas", target | {"until": "idle"})

    digest = asked["replicas"][0]
    assert digest["state"] == "needs_input" and digest["question"]
    assert "send_message" in digest["next_call"]
    assert diff_before["repos"] == []
    assert done["replicas"][0]["state"] == "idle"
    assert done["replicas"][0]["changes"]


async def test_a_name_with_whitespace_is_refused_before_anything_is_created(
    mcp_client: Client,
) -> None:
    before = await ok(mcp_client, "list_replicas", {})

    text = await error(
        mcp_client,
        "create_replica",
        {"name": "fix login", "message": "x", "repository_ids": [UNKNOWN_ID]},
    )
    after = await ok(mcp_client, "list_replicas", {})

    assert "whitespace" in text and "'fix-login'" in text
    assert after["total"] == before["total"]


async def test_create_without_a_target_says_where_to_find_one(
    mcp_client: Client,
) -> None:
    text = await error(
        mcp_client,
        "create_replica",
        {"name": "x", "message": "y", "repository_set_id": "", "repository_ids": []},
    )

    assert "repository_ids" in text and "list_repositories" in text


async def test_an_unknown_repository_points_to_list_repositories(
    mcp_client: Client,
) -> None:
    text = await error(
        mcp_client,
        "create_replica",
        {"name": "x", "message": "y", "repository_ids": [UNKNOWN_ID]},
    )

    assert "404" in text and "list_repositories" in text


@pytest.mark.parametrize(
    ("tool", "extra"),
    [
        ("get_replica", {}),
        ("get_history", {}),
        ("get_hooks", {}),
        ("send_message", {"message": "hello"}),
    ],
)
async def test_an_unknown_replica_id_points_to_list_replicas(
    mcp_client: Client, tool: str, extra: dict[str, Any]
) -> None:
    text = await error(mcp_client, tool, {"replica_id": UNKNOWN_ID} | extra)

    assert f"replica {UNKNOWN_ID} not found" in text
    assert "list_replicas shows the ones you can use" in text


async def test_an_id_that_is_not_a_uuid_is_refused_without_a_request(
    mcp_client: Client,
) -> None:
    text = await error(mcp_client, "get_replica", {"replica_id": "../repositories"})

    assert "is not a replica id" in text and "list_replicas" in text


async def test_an_unknown_replica_resource_is_not_found(mcp_client: Client) -> None:
    with pytest.raises(MCPError) as caught:
        await mcp_client.read_resource(f"replicas://replica/{UNKNOWN_ID}")

    assert "not found" in caught.value.error.message


async def test_a_bad_image_is_refused_naming_its_index(mcp_client: Client) -> None:
    png = base64.b64encode(tiny_png()).decode()
    images = [
        {"data": png, "media_type": "image/png"},
        {"data": "not base64!", "media_type": "image/png"},
    ]

    text = await error(
        mcp_client,
        "create_replica",
        {"name": "x", "message": "y", "repository_ids": [UNKNOWN_ID], "images": images},
    )

    assert "images[1].data is not valid base64" in text


async def test_without_an_api_key_every_call_explains_how_to_set_one(
    emulator: EmulatorServer,
) -> None:
    server = build_server(Settings(api_key=None, base_url=emulator.base_url))

    async with Client(server) as client:
        tools = await client.list_tools()
        text = await error(client, "list_replicas", {})

    assert tools.tools
    assert "REPLICAS_API_KEY" in text and "--emulator" in text


async def test_a_wrong_api_key_says_to_check_it(emulator: EmulatorServer) -> None:
    settings = Settings(
        api_key=SecretStr("sk_replicas_wrong"), base_url=emulator.base_url
    )

    async with Client(build_server(settings)) as client:
        text = await error(client, "list_repositories", {})

    assert "401" in text and "REPLICAS_API_KEY" in text
    assert "sk_replicas_wrong" not in text
