"""Huge upstream payloads: every answer fits its budget and all can be read."""

import json
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent

from replicas_mcp.api import ReplicasClient
from replicas_mcp.emulator import large_replica_ids
from replicas_mcp.server import budget

from ._helpers import text_of

pytestmark = pytest.mark.anyio

IDS = large_replica_ids("acme")
DEFAULT_CHARS = budget.chars(budget.DEFAULT_TOKENS)
HARD_CHARS = budget.chars(budget.MAX_TOKENS)


def _size(result: CallToolResult) -> int:
    """Characters a host receives: the whole result as JSON."""
    return len(result.model_dump_json(by_alias=True, exclude_none=True))


async def _call(
    client: Client, tool: str, arguments: dict[str, Any], *, limit: int
) -> CallToolResult:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert _size(result) <= limit, (tool, arguments, _size(result))
    return result


def _data(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None
    return result.structured_content


async def test_default_answers_stay_under_the_default_budget(
    mcp_client: Client,
) -> None:
    calls = [
        ("get_diff", {"replica_id": IDS["large-diff"]}),
        ("get_diff", {"replica_id": IDS["large-diff"], "mode": "files"}),
        ("get_diff", {"replica_id": IDS["large-diff"], "mode": "patch"}),
        ("get_replica", {"replica_id": IDS["large-diff"], "include": ["diffs"]}),
        ("get_history", {"replica_id": IDS["large-history"]}),
        ("get_history", {"replica_id": IDS["large-history"], "limit": 200}),
        ("get_hooks", {"replica_id": IDS["large-hooks"]}),
        ("get_hooks", {"replica_id": IDS["large-hooks"], "tail": 5000}),
    ]

    for tool, arguments in calls:
        await _call(mcp_client, tool, arguments, limit=DEFAULT_CHARS)


async def test_raised_budgets_stop_at_the_hard_cap(mcp_client: Client) -> None:
    most = {"max_tokens": budget.MAX_TOKENS}
    calls = [
        ("get_diff", {"replica_id": IDS["large-diff"], "mode": "patch"} | most),
        ("get_history", {"replica_id": IDS["large-history"], "max_chars": 40_000}),
        ("get_hooks", {"replica_id": IDS["large-hooks"], "tail": 5000} | most),
    ]

    for tool, arguments in calls:
        arguments = {"limit": 200} | arguments if tool == "get_history" else arguments
        await _call(mcp_client, tool, arguments | most, limit=HARD_CHARS)


async def test_a_three_megabyte_patch_reads_to_the_end_page_by_page(
    mcp_client: Client, api: ReplicasClient
) -> None:
    details = await api.get_replica(IDS["large-diff"], include=("diffs",))
    statuses = details.repository_statuses or []
    expected = "".join(
        f"# repository: {s.repository}\n" + (s.git_diff.full_diff if s.git_diff else "")
        for s in statuses
    )
    pages: list[str] = []
    offset: int | None = 0

    while offset is not None:
        arguments = {
            "replica_id": IDS["large-diff"],
            "mode": "patch",
            "offset": offset,
            "max_tokens": budget.MAX_TOKENS,
        }
        result = await _call(mcp_client, "get_diff", arguments, limit=HARD_CHARS)
        page = result.content[-1]
        assert isinstance(page, TextContent)
        pages.append(page.text)
        offset = _data(result).get("next_offset")

    assert len(expected) > 2_900_000
    assert "".join(pages) == _by_file(expected)
    assert all(page.endswith("\n") for page in pages)


def _by_file(expected: str) -> str:
    """The patch as the tool labels it: a repository line before every file."""
    out: list[str] = []
    repository = ""
    for line in expected.splitlines(keepends=True):
        if line.startswith("# repository: "):
            repository = line
            continue
        if line.startswith("diff --git "):
            out.append(repository)
        out.append(line)

    return "".join(out)


async def test_the_file_list_of_a_huge_diff_pages_to_the_end(
    mcp_client: Client,
) -> None:
    paths: list[str] = []
    offset: int | None = 0

    while offset is not None:
        arguments = {"replica_id": IDS["large-diff"], "mode": "files", "offset": offset}
        page = _data(
            await _call(mcp_client, "get_diff", arguments, limit=DEFAULT_CHARS)
        )
        paths += [f["path"] for f in page["files"]]
        offset = page.get("next_offset")

    stat = _data(
        await _call(
            mcp_client,
            "get_diff",
            {"replica_id": IDS["large-diff"]},
            limit=DEFAULT_CHARS,
        )
    )
    assert len(paths) == sum(repo["files"] for repo in stat["repos"]) == 370


async def test_five_thousand_events_read_to_the_start_page_by_page(
    mcp_client: Client,
) -> None:
    offsets: list[int] = []
    longest = 0
    offset: int | None = 0

    while offset is not None:
        arguments = {"replica_id": IDS["large-history"], "offset": offset, "limit": 200}
        page = _data(
            await _call(mcp_client, "get_history", arguments, limit=DEFAULT_CHARS)
        )
        offsets += [m["offset"] for m in page["messages"]]
        longest = max([longest, *(m.get("cut_chars", 0) for m in page["messages"])])
        offset = page.get("next_offset")

    assert offsets == list(range(5000))
    assert longest > 200_000


async def test_one_chat_of_a_huge_history_can_be_read_alone(
    mcp_client: Client, api: ReplicasClient
) -> None:
    chats = await api.list_chats(IDS["large-history"])
    sizes: dict[str, int] = {}
    for chat in chats.chats:
        arguments = {"replica_id": IDS["large-history"], "chat_id": chat.id}
        page = _data(
            await _call(mcp_client, "get_history", arguments, limit=DEFAULT_CHARS)
        )
        sizes[chat.title] = page["total"]

    assert sorted(sizes.values()) == [1000, 4000]


async def test_a_fifty_thousand_line_hook_log_pages_back_to_its_first_kept_line(
    mcp_client: Client, api: ReplicasClient
) -> None:
    logs = await api.get_hooks(IDS["large-hooks"])
    web = next(log for log in logs.start_hooks if log.hook_name.endswith("/web"))
    pages: list[str] = []
    skip = 0

    while True:
        arguments = {
            "replica_id": IDS["large-hooks"],
            "hook": web.hook_name,
            "tail": 5000,
            "skip": skip,
        }
        run = _data(
            await _call(mcp_client, "get_hooks", arguments, limit=DEFAULT_CHARS)
        )["hooks"]
        start_hooks = [r for r in run if r["phase"] == "start"]
        assert len(start_hooks) == 1
        pages.insert(0, start_hooks[0]["output"])
        if start_hooks[0]["first_line"] == 1:
            break
        skip = start_hooks[0]["lines"] - start_hooks[0]["first_line"] + 1

    assert web.output_truncated and web.output_total_chars
    assert "\n".join(pages) == web.output.rstrip("\n")
    assert start_hooks[0]["full_chars"] == web.output_total_chars


async def test_the_failing_hook_is_easy_to_spot(mcp_client: Client) -> None:
    result = await _call(
        mcp_client, "get_hooks", {"replica_id": IDS["large-hooks"]}, limit=DEFAULT_CHARS
    )

    failed = [h for h in _data(result)["hooks"] if h["exit_code"] != 0]
    assert [h["name"] for h in failed] == ["acme/api"]
    assert "exit 1" in text_of(result)


def test_sizes_are_measured_as_the_host_receives_them() -> None:
    """The budget counts the whole serialized result, not just the text."""
    result = CallToolResult(content=[], structured_content={"a": "x" * 10})

    assert _size(result) == len(
        json.dumps(
            result.model_dump(by_alias=True, exclude_none=True), separators=(",", ":")
        )
    )
