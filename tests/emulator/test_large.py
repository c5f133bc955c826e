"""Large replicas: a 3 MB diff, a 5,000-event history and a 50,000-line hook log."""

import re
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer, EmulatorState, large_replica_ids
from replicas_mcp.emulator.hooks import PREVIEW_CHARS, output_preview
from replicas_mcp.emulator.large import HOOK_LOG_LINES, web_build_log
from replicas_mcp.emulator.large_history import (
    LONG_RESULT_CHARS,
    LONG_TEXT_CHARS,
    TURN_EVENTS,
)

from ._support import API_KEY, OTHER_KEY, Json, fast_config, get_json, send, wait_idle

pytestmark = pytest.mark.anyio

IDS = large_replica_ids("acme")
DIFF_ID = IDS["large-diff"]
HISTORY_ID = IDS["large-history"]
HOOKS_ID = IDS["large-hooks"]

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(?: .+)?$")
DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$")
INDEX_LINE = re.compile(r"^index [0-9a-f]{7}\.\.[0-9a-f]{7}(?: 100644)?$")
TURN_TYPES = [
    "claude-user",
    "claude-assistant",
    "claude-assistant",
    "claude-user",
    "claude-assistant",
    "claude-user",
    "claude-assistant",
    "claude-user",
    "claude-assistant",
    "claude-result",
]
"""One turn: prompt, thought, Read, Edit, Bash (use + result each), text, result."""

# Loopback answers for the big GETs must stay far from a client's timeout.
FAST_ENOUGH = 1.0


@pytest.fixture(scope="module")
async def emulator() -> AsyncGenerator[EmulatorServer, None]:
    """Serve an emulator whose organisations hold the large replicas."""
    async with EmulatorServer(fast_config(large_replicas=True)) as server:
        yield server


async def timed_get(client: httpx2.AsyncClient, path: str, **params: Any) -> Json:
    """GET a path, expect 200 quickly, and return the body."""
    started = time.perf_counter()
    body = await get_json(client, path, **params)
    assert time.perf_counter() - started < FAST_ENOUGH, path
    return body


@dataclass
class FileChange:
    """One file of a parsed git diff."""

    path: str
    change: str
    added: int
    removed: int


def _take_hunk(lines: list[str], index: int, old_len: int, new_len: int) -> int:
    """Consume one hunk body; return the index after it."""
    while old_len or new_len:
        marker = lines[index][:1]
        assert marker in {" ", "+", "-"}, lines[index]
        old_len -= marker in {" ", "-"}
        new_len -= marker in {" ", "+"}
        assert old_len >= 0 and new_len >= 0, lines[index]
        index += 1
    return index


def parse_git_diff(text: str) -> list[FileChange]:
    """Parse a `git diff` strictly: headers, hunk ranges and line counts."""
    lines = text.split("\n")
    assert lines.pop() == "", "a diff ends with a newline"
    files: list[FileChange] = []
    index = 0
    while index < len(lines):
        header = DIFF_HEADER.match(lines[index])
        assert header and header[1] == header[2], lines[index]
        path = header[1]
        index += 1

        change = "modify"
        if lines[index] == "new file mode 100644":
            change, index = "add", index + 1
        elif lines[index] == "deleted file mode 100644":
            change, index = "delete", index + 1
        assert INDEX_LINE.match(lines[index]), lines[index]
        old_name = "/dev/null" if change == "add" else f"a/{path}"
        new_name = "/dev/null" if change == "delete" else f"b/{path}"
        assert lines[index + 1 : index + 3] == [f"--- {old_name}", f"+++ {new_name}"]
        index += 3

        added = removed = hunks = 0
        old_end = 0
        while index < len(lines) and lines[index].startswith("@@"):
            match = HUNK.match(lines[index])
            assert match, lines[index]
            old_start, new_start = int(match[1]), int(match[3])
            old_len, new_len = int(match[2] or 1), int(match[4] or 1)
            if change == "modify":
                # New-side starts follow from what earlier hunks added or removed.
                assert old_start > old_end, lines[index]
                assert new_start == old_start + added - removed, lines[index]
            else:
                assert (old_start, new_start) == ((0, 1) if change == "add" else (1, 0))
            end = _take_hunk(lines, index + 1, old_len, new_len)
            body = lines[index + 1 : end]
            added += sum(line.startswith("+") for line in body)
            removed += sum(line.startswith("-") for line in body)
            old_end = old_start + old_len - 1
            hunks += 1
            index = end

        assert hunks >= 1, path
        files.append(FileChange(path, change, added, removed))
    return files


def test_the_knob_is_off_by_default() -> None:
    """Without the knob no replica exists at start-up."""
    state = EmulatorState(fast_config())

    assert all(state.replicas(org) == [] for org in state.organizations)


def test_every_organisation_gets_its_own_large_replicas() -> None:
    """Each organisation has the three replicas, active and idle, with stable ids."""
    state = EmulatorState(fast_config(large_replicas=True))

    for org in state.organizations:
        replicas = state.replicas(org)
        ids = large_replica_ids(org)
        assert {r.name: r.id for r in replicas} == ids
        assert all(r.status == "active" and not r.busy() for r in replicas)
    assert large_replica_ids("acme") != large_replica_ids("globex")


async def test_large_replicas_are_listed_and_isolated(
    client: httpx2.AsyncClient,
) -> None:
    """Listing shows them; another organisation's key cannot read them (A19)."""
    body = await get_json(client, "/v1/replica", status="active", limit=100)
    names = {r["name"]: r["id"] for r in body["replicas"]}

    headers = {"Authorization": f"Bearer {OTHER_KEY}"}
    foreign = await client.get(f"/v1/replica/{DIFF_ID}", headers=headers)

    assert {n: names[n] for n in IDS} == IDS
    assert foreign.status_code == 404


async def test_large_diff_is_three_megabytes_of_valid_git_diff(
    client: httpx2.AsyncClient,
) -> None:
    """Both repositories' diffs parse strictly and match their added/removed."""
    body = await timed_get(client, f"/v1/replica/{DIFF_ID}", include="diffs")
    statuses: list[Json] = body["replica"]["repository_statuses"]

    changes: list[FileChange] = []
    for status in statuses:
        git_diff = status["git_diff"]
        files = parse_git_diff(git_diff["full_diff"])
        assert [f.path for f in files] == sorted(f.path for f in files)
        assert sum(f.added for f in files) == git_diff["added"]
        assert sum(f.removed for f in files) == git_diff["removed"]
        changes += files

    total_chars = sum(len(s["git_diff"]["full_diff"]) for s in statuses)
    kinds = [c.change for c in changes]
    sizes = sorted(c.added + c.removed for c in changes)
    assert [s["repository"] for s in statuses] == ["acme/web", "acme/api"]
    assert 2_900_000 < total_chars < 3_100_000
    assert len(changes) > 300
    assert kinds.count("delete") == 3 and kinds.count("add") >= 6
    assert sizes[0] == 1 and sizes[-1] >= 16_000


async def test_large_diff_counts_come_without_the_text(
    client: httpx2.AsyncClient,
) -> None:
    """Without include=diffs the text is empty but the counts are the same (A7)."""
    plain = await timed_get(client, f"/v1/replica/{DIFF_ID}")
    full = await timed_get(client, f"/v1/replica/{DIFF_ID}", include="diffs")

    for short, long in zip(
        plain["replica"]["repository_statuses"],
        full["replica"]["repository_statuses"],
        strict=True,
    ):
        assert short["git_diff"]["full_diff"] == ""
        assert short["git_diff"]["added"] == long["git_diff"]["added"] > 10_000


async def test_large_history_totals_per_chat(client: httpx2.AsyncClient) -> None:
    """5,000 events: 4,000 in the older chat, 1,000 in the newer default one."""
    replica = (await timed_get(client, f"/v1/replica/{HISTORY_ID}"))["replica"]
    chats = {c["title"]: c for c in replica["chats"]}
    older = chats["Migrate billing to the v2 invoices API"]
    newer = chats["Investigate the flaky checkout tests"]

    path = f"/v1/replica/{HISTORY_ID}/history"
    everything = await timed_get(client, path, limit=1)
    first = await timed_get(client, path, chat_id=older["id"], limit=1)
    second = await timed_get(client, path, chat_id=newer["id"], limit=1)

    assert (everything["total"], first["total"], second["total"]) == (5000, 4000, 1000)
    assert everything["has_more"] is True
    assert everything["events"] == second["events"]
    assert not any(c["processing"] for c in replica["chats"])
    assert replica["coding_agent"] == "claude"


async def test_large_history_pages_cover_every_event_once(
    client: httpx2.AsyncClient,
) -> None:
    """Tail pages of 700 (A10) put back together equal the unpaged history."""
    path = f"/v1/replica/{HISTORY_ID}/history"
    whole = await timed_get(client, path)

    pages: list[list[Json]] = []
    offset = 0
    while True:
        page = await timed_get(client, path, limit=700, offset=offset)
        pages.append(page["events"])
        offset += len(page["events"])
        if not page["has_more"]:
            break
    beyond = await timed_get(client, path, limit=700, offset=5000)

    stitched = [event for page in reversed(pages) for event in page]
    assert len(whole["events"]) == 5000 and whole["has_more"] is False
    assert stitched == whole["events"]
    assert [len(p) for p in pages] == [700] * 7 + [100]
    assert (beyond["events"], beyond["has_more"]) == ([], False)


async def test_large_history_is_claude_shaped_with_two_monsters(
    client: httpx2.AsyncClient,
) -> None:
    """Turns follow §8.4; one text is 50,000 chars, one tool_result 200 KiB."""
    body = await timed_get(client, f"/v1/replica/{HISTORY_ID}/history")
    events: list[Json] = body["events"]

    turns = [events[k : k + TURN_EVENTS] for k in range(0, 5000, TURN_EVENTS)]
    blocks = [
        e["payload"]["message"]["content"][0]
        for e in events
        if "message" in e["payload"]
    ]
    uses = {b["id"] for b in blocks if b["type"] == "tool_use"}
    results = {b["tool_use_id"] for b in blocks if b["type"] == "tool_result"}
    timestamps = [e["timestamp"] for e in events]
    text_sizes = [len(b["text"]) for b in blocks if b["type"] == "text"]
    result_sizes = [len(b["content"]) for b in blocks if b["type"] == "tool_result"]

    assert all([e["type"] for e in turn] == TURN_TYPES for turn in turns)
    assert {"text", "thinking", "tool_use", "tool_result"} <= {
        b["type"] for b in blocks
    }
    assert uses == results and len(uses) == 1500
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == 5000
    assert all(t["payload"]["subtype"] == "success" for t in (x[-1] for x in turns))
    # The older chat's last closing text, and the newer chat's last Bash result.
    closing = events[3998]["payload"]["message"]["content"][0]
    bash_result = events[4997]["payload"]["message"]["content"][0]
    assert len(closing["text"]) == LONG_TEXT_CHARS == max(text_sizes)
    assert len(bash_result["content"]) == LONG_RESULT_CHARS == max(result_sizes)


async def test_large_hook_log_previews_the_tail(client: httpx2.AsyncClient) -> None:
    """The 50,000-line log is cut to its last whole lines; the rest are intact."""
    body = await timed_get(client, f"/v1/replica/{HOOKS_ID}/hooks")
    start = {log["hookName"]: log for log in body["start_hooks"]["logs"]}
    warm = body["warm_hooks"]["logs"]
    full = web_build_log()

    web = start["acme/web"]
    preview: str = web["output"]
    assert full.count("\n") == HOOK_LOG_LINES
    assert (web["outputTruncated"], web["outputTotalChars"]) == (True, len(full))
    assert full.endswith(preview) and full[-len(preview) - 1] == "\n"
    assert PREVIEW_CHARS - 200 < len(preview) <= PREVIEW_CHARS
    assert preview.endswith("built in 96.41s\n")
    assert web["exitCode"] == 0

    small = [start["environment"], start["acme/api"], *warm]
    assert [log["exitCode"] for log in small] == [0, 1, 0, 0, 0]
    assert "1 failed, 51 passed" in start["acme/api"]["output"]
    for log in small:
        assert log["outputTruncated"] is False
        assert log["outputTotalChars"] == len(log["output"]) > 0


async def test_failed_start_hook_shows_in_the_environment(
    client: httpx2.AsyncClient,
) -> None:
    """include=environment reports the failing repository's start hook."""
    body = await timed_get(client, f"/v1/replica/{HOOKS_ID}", include="environment")
    hooks = body["replica"]["environment"]["hooks"]["repositories"]

    assert {h["repository_name"]: h["start_hook"] for h in hooks} == {
        "acme/web": "succeeded",
        "acme/api": "failed",
    }


def test_short_output_is_shown_whole() -> None:
    """Output up to the limit is neither cut nor marked."""
    exact = "x" * (PREVIEW_CHARS - 1) + "\n"

    assert output_preview(exact) == exact
    assert output_preview("") == ""


def test_preview_drops_the_partial_first_line() -> None:
    """A cut preview starts at a line start; an exact line boundary is kept."""
    line = "y" * 99 + "\n"
    aligned = line * (PREVIEW_CHARS // 100 + 5)
    ragged = "z" * 50 + aligned

    assert output_preview(aligned) == line * (PREVIEW_CHARS // 100)
    assert output_preview(ragged) == line * (PREVIEW_CHARS // 100)
    assert output_preview("a\n" + "b" * 50 + "\n" + "c" * PREVIEW_CHARS).startswith("c")


def test_one_huge_line_is_cut_mid_line() -> None:
    """With no line start in the tail the raw tail is all that can be shown."""
    giant = "w" * (PREVIEW_CHARS * 2) + "\n"

    assert output_preview(giant) == giant[-PREVIEW_CHARS:]


async def test_large_replicas_keep_their_payloads_across_sleep_and_wake(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """After a sleep the hooks run again with the same output; history stays."""
    state = emulator.state
    for replica_id in (HOOKS_ID, HISTORY_ID):
        state.sleep(state.find(replica_id))
        await client.get(f"/v1/replica/{replica_id}")
        await wait_idle(state, replica_id)

    hooks = await timed_get(client, f"/v1/replica/{HOOKS_ID}/hooks")
    history = await timed_get(client, f"/v1/replica/{HISTORY_ID}/history", limit=1)

    web = next(h for h in hooks["start_hooks"]["logs"] if h["hookName"] == "acme/web")
    assert web["outputTotalChars"] == len(web_build_log())
    assert web["outputTruncated"] is True
    assert history["total"] == 5000


async def test_a_turn_adds_to_the_large_diff() -> None:
    """A turn's own edit follows the seeded changes and adds to the counts."""
    # A server of its own: the turn changes the diff other tests read.
    config = fast_config(api_keys={API_KEY: "acme"}, large_replicas=True)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with EmulatorServer(config) as server:
        http = httpx2.AsyncClient(base_url=server.base_url, headers=headers)
        async with http:
            before = await timed_get(http, f"/v1/replica/{DIFF_ID}")
            await send(http, DIFF_ID, message="The LoginForm button should say Log in")
            await wait_idle(server.state, DIFF_ID)
            after = await timed_get(http, f"/v1/replica/{DIFF_ID}", include="diffs")

    web_before = before["replica"]["repository_statuses"][0]["git_diff"]
    web_after = after["replica"]["repository_statuses"][0]["git_diff"]
    files = parse_git_diff(web_after["full_diff"])
    assert files[-1].path == "src/components/LoginForm.tsx"
    assert web_after["added"] == web_before["added"] + files[-1].added
    assert web_after["removed"] == sum(f.removed for f in files)
