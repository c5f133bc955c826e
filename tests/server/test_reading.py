"""Reading a replica's work through tools, resources and completions."""

from typing import Any

import pytest
from mcp import Client
from mcp.types import ResourceTemplateReference, TextResourceContents

from replicas_mcp.api import ReplicasClient

from ..waiting import turn_completed
from ._helpers import UNKNOWN_ID, create, error, ok, text_of

pytestmark = pytest.mark.anyio


async def _finished(client: Client, api: ReplicasClient, **kw: Any) -> str:
    replica = await create(client, **kw)
    await turn_completed(api, replica["id"])
    return replica["id"]


async def test_diff_stat_files_and_patch_agree(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)

    stat = await ok(mcp_client, "get_diff", {"replica_id": replica_id})
    files = await ok(
        mcp_client, "get_diff", {"replica_id": replica_id, "mode": "files"}
    )
    patch = await mcp_client.call_tool(
        "get_diff", {"replica_id": replica_id, "mode": "patch"}
    )

    repo = stat["repos"][0]
    assert repo["files"] == len(files["files"]) == files["total"]
    assert repo["added"] == sum(f["added"] for f in files["files"])
    assert "diff --git a/" in text_of(patch)
    assert patch.structured_content and "next_offset" not in patch.structured_content


async def test_diff_path_filter_keeps_only_matching_files(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)
    files = await ok(
        mcp_client, "get_diff", {"replica_id": replica_id, "mode": "files"}
    )
    first = files["files"][0]["path"]

    filtered = await ok(
        mcp_client,
        "get_diff",
        {"replica_id": replica_id, "mode": "files", "path": first},
    )
    globbed = await mcp_client.call_tool(
        "get_diff", {"replica_id": replica_id, "mode": "files", "path": "*.nothing"}
    )

    assert [f["path"] for f in filtered["files"]] == [first]
    assert globbed.structured_content and globbed.structured_content["repos"] == []
    assert "No changed file matches path='*.nothing'" in text_of(globbed)


async def test_history_filters_by_role_and_kind(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)

    users = await ok(
        mcp_client, "get_history", {"replica_id": replica_id, "role": "user"}
    )
    calls = await ok(
        mcp_client, "get_history", {"replica_id": replica_id, "kind": "tool_call"}
    )

    assert [m["role"] for m in users["messages"]] == ["user"]
    assert calls["messages"] and all(m["tool"] for m in calls["messages"])


async def test_history_pages_back_without_gaps_or_repeats(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)
    whole = await ok(mcp_client, "get_history", {"replica_id": replica_id})
    seen: list[int] = []
    offset: int | None = 0

    while offset is not None:
        page = await ok(
            mcp_client,
            "get_history",
            {"replica_id": replica_id, "limit": 3, "offset": offset},
        )
        seen += [m["offset"] for m in page["messages"]]
        offset = page.get("next_offset")

    assert seen == list(range(whole["total"]))


async def test_hooks_can_be_narrowed_to_one_hook(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)

    every = await ok(mcp_client, "get_hooks", {"replica_id": replica_id})
    one = await ok(
        mcp_client, "get_hooks", {"replica_id": replica_id, "hook": "environment"}
    )

    assert len(every["hooks"]) > 1
    assert [h["name"] for h in one["hooks"]] == ["environment"]


async def test_chats_can_be_opened_listed_used_and_deleted(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)
    target = {"replica_id": replica_id}

    chat = await ok(mcp_client, "create_chat", target | {"provider": "codex"})
    listed = await ok(mcp_client, "list_chats", target)
    sent = await ok(
        mcp_client,
        "send_message",
        target | {"chat_id": chat["id"], "message": "Review the change"},
    )
    await turn_completed(api, replica_id, turns=1)
    deleted = await ok(mcp_client, "delete_chat", target | {"chat_id": chat["id"]})
    after = await ok(mcp_client, "list_chats", target)

    assert chat["agent"] == "codex" and chat["id"] in {c["id"] for c in listed["chats"]}
    assert sent["chat_id"] == chat["id"]
    assert deleted["deleted"] is True
    assert chat["id"] not in {c["id"] for c in after["chats"]}


async def test_an_unknown_chat_points_to_list_chats(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)

    text = await error(
        mcp_client, "delete_chat", {"replica_id": replica_id, "chat_id": UNKNOWN_ID}
    )

    assert f"chat {UNKNOWN_ID} not found" in text


async def test_delete_replica_removes_it(mcp_client: Client) -> None:
    replica = await create(mcp_client)

    deleted = await ok(mcp_client, "delete_replica", {"replica_id": replica["id"]})
    text = await error(mcp_client, "get_replica", {"replica_id": replica["id"]})

    assert deleted == {"id": replica["id"], "deleted": True}
    assert "not found" in text


async def test_get_replica_can_include_a_diff_preview(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)

    details = await ok(
        mcp_client,
        "get_replica",
        {"replica_id": replica_id, "include": ["diffs", "environment"]},
    )

    assert details["repos"][0]["diff"].startswith("diff --git")
    assert "engine_version" in details["environment"]


async def test_resources_list_shows_recent_replicas(mcp_client: Client) -> None:
    replica = await create(mcp_client, name="listed-replica")

    resources = (await mcp_client.list_resources()).resources

    uris = {str(r.uri): r.name for r in resources}
    assert uris.get(f"replicas://replica/{replica['id']}") == "listed-replica"


async def test_hooks_and_chat_history_resources_read_as_text(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api)
    chats = await ok(mcp_client, "list_chats", {"replica_id": replica_id})
    chat_id = chats["chats"][0]["id"]

    hooks = await mcp_client.read_resource(f"replicas://replica/{replica_id}/hooks")
    history = await mcp_client.read_resource(
        f"replicas://replica/{replica_id}/chats/{chat_id}/history"
    )

    hooks_text, history_text = hooks.contents[0], history.contents[0]
    assert isinstance(hooks_text, TextResourceContents)
    assert isinstance(history_text, TextResourceContents)
    assert "## start hook" in hooks_text.text
    assert "user text: Add input validation" in history_text.text


async def test_replica_and_chat_ids_complete(
    mcp_client: Client, api: ReplicasClient
) -> None:
    replica_id = await _finished(mcp_client, api, name="complete-me")
    chats = await ok(mcp_client, "list_chats", {"replica_id": replica_id})
    ref = ResourceTemplateReference(
        type="ref/resource",
        uri="replicas://replica/{replica_id}/chats/{chat_id}/history",
    )

    by_name = await mcp_client.complete(
        ref, {"name": "replica_id", "value": "complete"}
    )
    by_prefix = await mcp_client.complete(
        ref, {"name": "replica_id", "value": replica_id[:8]}
    )
    chat = await mcp_client.complete(
        ref,
        {"name": "chat_id", "value": ""},
        context_arguments={"replica_id": replica_id},
    )

    assert replica_id in by_name.completion.values
    assert replica_id in by_prefix.completion.values
    assert chat.completion.values == [c["id"] for c in chats["chats"]]
