"""Boot, sleep, wake, archive and delete (§10, A9, A11)."""

import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer, stable_id

from ._support import (
    FRONTEND_SET,
    LISTING_KEY,
    create,
    get_json,
    wait_idle,
    wait_status,
    wait_until,
)

pytestmark = pytest.mark.anyio

ENGINE_KEYS = {"repository_statuses", "chats", "coding_agent"}


async def asleep(emulator: EmulatorServer, client: httpx2.AsyncClient) -> str:
    """Create a replica, let its turn finish, put it to sleep; return its id."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    response = await client.post(f"/v1/workspaces/{replica['id']}/sleep")
    assert response.json() == {"success": True}
    return str(replica["id"])


@pytest.mark.parametrize("emulator", [{"wake_delay": 0.3}], indirect=True)
async def test_reading_a_sleeping_replica_wakes_it(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The waking read shows the stored status, waking true, no engine keys (A9)."""
    replica_id = await asleep(emulator, client)

    first = (await get_json(client, f"/v1/replica/{replica_id}"))["replica"]
    second = (await get_json(client, f"/v1/replica/{replica_id}"))["replica"]

    assert first["status"] == "sleeping"
    assert first["waking"] is True
    assert not ENGINE_KEYS & set(first)
    assert second["status"] == "preparing"
    assert not ENGINE_KEYS & set(second)

    await wait_status(emulator.state, replica_id, "active")
    awake = (await get_json(client, f"/v1/replica/{replica_id}"))["replica"]
    assert awake["waking"] is False
    assert ENGINE_KEYS <= set(awake)


async def test_listing_does_not_wake(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The list endpoint is not one of the waking reads."""
    replica_id = await asleep(emulator, client)

    listing = await get_json(client, "/v1/replica")

    assert listing["replicas"][0]["status"] == "sleeping"
    assert emulator.state.find(replica_id).status == "sleeping"


async def test_history_of_a_sleeping_replica_is_empty_and_wakes_it(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """History follows A11 while asleep, and the full history comes back after."""
    replica_id = await asleep(emulator, client)

    waking = await get_json(client, f"/v1/replica/{replica_id}/history")

    assert waking == {
        "thread_id": None,
        "events": [],
        "total": 0,
        "has_more": False,
        "waking": True,
    }
    await wait_status(emulator.state, replica_id, "active")
    awake = await get_json(client, f"/v1/replica/{replica_id}/history")
    assert awake["total"] > 0
    assert awake["waking"] is False


async def test_chats_of_an_archived_replica_wake_it(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Archived replicas wake like sleeping ones when their chats are read."""
    replica = await create(client)
    await wait_idle(emulator.state, replica["id"])
    archived = await client.post(f"/v1/workspaces/{replica['id']}/archive")

    chats = await get_json(client, f"/v1/replica/{replica['id']}/chats")

    assert archived.json() == {"success": True}
    assert chats == {"chats": [], "waking": True}
    await wait_status(emulator.state, replica["id"], "active")


@pytest.mark.parametrize("emulator", [{"boot_delay": 0.3}], indirect=True)
async def test_sleep_is_a_no_op_when_asleep_and_409_while_preparing(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Sleeping twice reports no change; a booting replica cannot sleep."""
    replica_id = await asleep(emulator, client)
    booting = await create(client, name="booting")

    again = await client.post(f"/v1/workspaces/{replica_id}/sleep")
    refused = await client.post(f"/v1/workspaces/{booting['id']}/sleep")

    assert again.json() == {"success": False}
    assert refused.status_code == 409


@pytest.mark.parametrize("emulator", [{"idle_timeout": 0.05}], indirect=True)
async def test_idle_replicas_go_to_sleep(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Without activity past idle_timeout, an active replica sleeps."""
    replica = await create(client)

    await wait_status(emulator.state, replica["id"], "sleeping")

    assert emulator.state.find(replica["id"]).history


@pytest.mark.parametrize(
    "emulator",
    [{"idle_timeout": 0.05}],
    indirect=True,
)
async def test_delete_after_inactivity_deletes_idle_replicas(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """That policy deletes instead of sleeping once the replica idles."""
    replica = await create(client, lifecycle_policy="delete_after_inactivity")
    await wait_idle(emulator.state, replica["id"])

    await wait_status_gone(emulator, replica["id"])

    response = await client.get(f"/v1/replica/{replica['id']}")
    assert response.status_code == 404


async def wait_status_gone(emulator: EmulatorServer, replica_id: str) -> None:
    """Wait until the replica no longer exists."""
    await wait_until(
        lambda: replica_id not in {r.id for r in emulator.state.replicas("acme")}
    )


async def test_deleted_replicas_are_404_everywhere(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """After DELETE, every endpoint answers 404 and the list forgets it (A22)."""
    replica = await create(client)
    base = f"/v1/replica/{replica['id']}"

    deleted = await client.delete(base)
    responses = [
        await client.get(base),
        await client.delete(base),
        await client.get(f"{base}/history"),
        await client.get(f"{base}/chats"),
        await client.get(f"{base}/hooks"),
        await client.get(f"{base}/events"),
        await client.post(f"{base}/messages", json={"message": "hi"}),
    ]
    listing = await get_json(client, "/v1/replica", limit=100)

    assert deleted.json() == {"success": True}
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert replica["id"] not in {r["id"] for r in listing["replicas"]}


async def test_list_pages_newest_first_and_filters(emulator: EmulatorServer) -> None:
    """The list is newest first, paged with total_pages, filterable by status."""
    headers = {"Authorization": f"Bearer {LISTING_KEY}"}
    c = httpx2.AsyncClient(base_url=emulator.base_url, headers=headers)
    async with c:
        await check_listing(emulator, c)


async def check_listing(emulator: EmulatorServer, client: httpx2.AsyncClient) -> None:
    """Create three replicas in an otherwise empty org and page through them."""
    initech = stable_id("initech", "environment", "repository", "docs")
    ids = [
        (await create(client, name=f"task-{n}", environment_id=initech))["id"]
        for n in range(3)
    ]
    for replica_id in ids:
        await wait_idle(emulator.state, replica_id)
    await client.post(f"/v1/workspaces/{ids[0]}/archive")

    page1 = await get_json(client, "/v1/replica", limit=2)
    page2 = await get_json(client, "/v1/replica", limit=2, page=2)
    page9 = await get_json(client, "/v1/replica", limit=2, page=9)
    archived = await get_json(client, "/v1/replica", status="archived")
    mine = await get_json(client, "/v1/replica", user_id="user_1")

    assert [r["id"] for r in page1["replicas"] + page2["replicas"]] == ids[::-1]
    assert (page1["total"], page1["total_pages"], page1["limit"]) == (3, 2, 2)
    assert page9["replicas"] == []
    assert [r["id"] for r in archived["replicas"]] == [ids[0]]
    assert mine["total"] == 0


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "101"}, {"page": "0"}, {"status": "paused"}],
)
async def test_list_rejects_bad_parameters(
    client: httpx2.AsyncClient, params: dict[str, str]
) -> None:
    """Paging and filter values outside §5.4 get 400."""
    response = await client.get("/v1/replica", params=params)

    assert response.status_code == 400
    assert list(params)[0] in response.json()["error"]


async def test_hooks_exist_after_boot(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Warm and start hook logs carry §5.14's fields and realistic output."""
    replica = await create(client, environment_id=None, repository_set_id=FRONTEND_SET)
    await wait_idle(emulator.state, replica["id"])

    hooks = await get_json(client, f"/v1/replica/{replica['id']}/hooks")

    warm = hooks["warm_hooks"]["logs"]
    start = hooks["start_hooks"]["logs"]
    assert [w["hookType"] for w in warm] == ["global", "repository", "repository"]
    assert [s["hookName"] for s in start] == ["environment", "acme/web", "acme/api"]
    web = start[1]
    assert web["hookCommands"] == ["npm ci", "npm run build"]
    assert "npm ci" in web["output"]
    assert web["outputTotalChars"] == len(web["output"])
    assert (web["exitCode"], web["timedOut"], web["outputTruncated"]) == (
        0,
        False,
        False,
    )
    assert web["repoName"] == web["hookName"]


async def test_environments_are_listed_and_readable(
    client: httpx2.AsyncClient,
) -> None:
    """Environments give the ids to create from; `global` is an alias."""
    listing = await get_json(client, "/v1/environments")
    by_alias = await get_json(client, "/v1/environments/global")
    personal = await get_json(client, "/v1/environments", scope="user")
    bad_scope = await client.get("/v1/environments", params={"scope": "team"})
    bad_id = await client.get("/v1/environments/abc")

    names = {e["name"]: e for e in listing["environments"]}
    assert {"api", "web", "docs", "infra", "frontend+api", "platform"} <= set(names)
    assert by_alias["environment"]["is_global"] is True
    assert names["api"]["repository_id"] is not None
    assert names["frontend+api"]["repository_set_id"] is not None
    assert personal["environments"] == []
    assert (bad_scope.status_code, bad_id.status_code) == (400, 400)
