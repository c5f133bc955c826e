"""Diffs: the unified-diff builder and what turns leave in repository statuses."""

import re

import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer
from replicas_mcp.emulator.diffs import blob_id, diff_stat, file_diff, tree_diff

from ._support import SET_ENVIRONMENT, Json, create, get_json, send, wait_idle

pytestmark = pytest.mark.anyio

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def check_unified_diff(diff: str) -> tuple[int, int]:
    """Parse a git diff strictly; return (added, removed) counted from hunks."""
    lines = diff.splitlines()
    added = removed = 0
    index = 0
    assert lines[0].startswith("diff --git a/")
    while index < len(lines):
        assert lines[index].startswith("diff --git a/"), lines[index]
        index += 1
        while not lines[index].startswith("@@"):
            assert lines[index].split(" ")[0] in {"new", "index", "---", "+++"}
            index += 1
        while index < len(lines) and lines[index].startswith("@@"):
            match = HUNK.match(lines[index])
            assert match, lines[index]
            old_len = int(match.group(2) or 1)
            new_len = int(match.group(4) or 1)
            index += 1
            while old_len or new_len:
                marker = lines[index][:1]
                assert marker in {" ", "+", "-"}, lines[index]
                old_len -= marker in {" ", "-"}
                new_len -= marker in {" ", "+"}
                added += marker == "+"
                removed += marker == "-"
                index += 1
            assert (old_len, new_len) == (0, 0)
    return added, removed


def test_file_diff_of_an_edit_has_git_headers_and_hunks() -> None:
    """An edited file gets `index old..new mode` and a correct hunk header."""
    old = "".join(f"line {n}\n" for n in range(1, 11))
    new = old.replace("line 5\n", "line five\n")

    diff = file_diff("src/a.py", old, new)

    assert diff.splitlines()[:5] == [
        "diff --git a/src/a.py b/src/a.py",
        f"index {blob_id(old)}..{blob_id(new)} 100644",
        "--- a/src/a.py",
        "+++ b/src/a.py",
        "@@ -2,7 +2,7 @@",
    ]
    assert check_unified_diff(diff) == (1, 1)
    assert diff_stat(diff).added == 1


def test_file_diff_of_a_new_file_comes_from_dev_null() -> None:
    """New files use `new file mode` and `--- /dev/null`."""
    text = "# X\n\nBody\n"

    diff = file_diff("docs/x.md", None, text)

    assert diff.splitlines()[1:5] == [
        "new file mode 100644",
        f"index 0000000..{blob_id(text)}",
        "--- /dev/null",
        "+++ b/docs/x.md",
    ]
    assert "@@ -0,0 +1,3 @@" in diff


def test_blob_ids_match_git() -> None:
    """`git hash-object` of "hello\\n" is ce01362."""
    assert blob_id("hello\n") == "ce01362"


def test_diff_stat_ignores_headers_that_look_like_changes() -> None:
    """Lines starting with +++/--- inside a hunk still count."""
    old = "a\n--- b\n"
    new = "a\n+++ c\n"

    stat = diff_stat(tree_diff({"f": old}, {"f": new}))

    assert (stat.added, stat.removed) == (1, 1)


def test_texts_without_final_newline_are_refused() -> None:
    """The builder never emits broken hunks for unterminated lines."""
    with pytest.raises(ValueError, match="newline"):
        file_diff("f", None, "no newline")


async def repo_status(
    client: httpx2.AsyncClient, replica_id: str, **params: str
) -> list[Json]:
    """Return the replica's repository_statuses."""
    details = await get_json(client, f"/v1/replica/{replica_id}", **params)
    statuses: list[Json] = details["replica"]["repository_statuses"]
    return statuses


async def test_turn_diff_is_a_real_unified_diff_with_right_counts(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The diff fits the request, parses, and its counts match git_diff."""
    replica = await create(client, "Make the session TTL 24 hours and add a test")
    await wait_idle(emulator.state, replica["id"])

    plain = await repo_status(client, replica["id"])
    full = await repo_status(client, replica["id"], include="diffs")

    status = full[0]
    diff = status["git_diff"]["full_diff"]
    assert plain[0]["git_diff"]["full_diff"] == ""
    assert check_unified_diff(diff) == (
        status["git_diff"]["added"],
        status["git_diff"]["removed"],
    )
    assert "-SESSION_TTL_SECONDS = 5 * 60" in diff
    assert "+SESSION_TTL_SECONDS = 24 * 60" in diff
    assert "+++ b/tests/test_session_ttl_hours.py" in diff
    assert status["branch"] == "replicas/fix-session-ttl"
    assert status["start_hooks_completed"] is True


async def test_same_request_gives_the_same_diff(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Diffs are deterministic for the same input."""
    replicas = [await create(client, "Shorten the API request timeout to 3000 ms")]
    replicas.append(await create(client, "Shorten the API request timeout to 3000 ms"))
    for replica in replicas:
        await wait_idle(emulator.state, replica["id"])

    diffs = [
        (await repo_status(client, r["id"], include="diffs"))[0]["git_diff"]
        for r in replicas
    ]

    assert diffs[0] == diffs[1]
    assert diffs[0]["added"] > 0


async def test_diffs_accumulate_per_repository(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Later turns add to the branch's diff instead of replacing it."""
    replica = await create(client, "Make the session TTL 24 hours")
    await wait_idle(emulator.state, replica["id"])
    before = (await repo_status(client, replica["id"]))[0]["git_diff"]

    await send(
        client, replica["id"], message="Document the health endpoint in the README"
    )
    await wait_idle(emulator.state, replica["id"])
    after = (await repo_status(client, replica["id"], include="diffs"))[0]

    assert after["git_diff"]["added"] > before["added"]
    assert "+++ b/README.md" in after["git_diff"]["full_diff"]
    assert "+++ b/app/auth.py" in after["git_diff"]["full_diff"]


async def test_multi_repo_turn_edits_the_repository_the_request_names(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """In a set workspace the request's words pick the repository to change."""
    replica = await create(
        client,
        "The LoginForm button in the web app should say Log in",
        environment_id=SET_ENVIRONMENT,
    )
    await wait_idle(emulator.state, replica["id"])

    statuses = {s["repository"]: s for s in await repo_status(client, replica["id"])}

    assert statuses["acme/web"]["git_diff"]["added"] > 0
    assert statuses["acme/api"]["git_diff"] == {
        "added": 0,
        "removed": 0,
        "full_diff": "",
    }


async def test_asking_for_a_pull_request_opens_one(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """A PR request adds the PR to pr_urls and pull_requests (A28)."""
    replica = await create(client, "Fix the session expiry and open a PR")
    await wait_idle(emulator.state, replica["id"])

    details = (await get_json(client, f"/v1/replica/{replica['id']}"))["replica"]

    url = details["repository_statuses"][0]["pr_urls"][0]
    number = int(url.rsplit("/", 1)[1])
    assert url.startswith("https://github.com/acme/api/pull/")
    assert details["pull_requests"] == [
        {"repository": "acme/api", "number": number, "url": url}
    ]
