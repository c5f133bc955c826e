"""Authentication, organisations and the error envelope."""

import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer

from ._support import OTHER_KEY, UNKNOWN_ID, create, fast_config

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sk_replicas_nope"},
        {"Authorization": "Basic c2tfcmVwbGljYXNfdGVzdA=="},
        {"Authorization": "Bearer"},
    ],
)
async def test_requests_without_a_known_bearer_key_get_401(
    emulator: EmulatorServer, headers: dict[str, str]
) -> None:
    """Missing, unknown or non-bearer credentials get the fixed 401 body (A19)."""
    anonymous = httpx2.AsyncClient(base_url=emulator.base_url)
    async with anonymous:
        response = await anonymous.get("/v1/replica", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized", "details": None}


async def test_unknown_routes_need_auth_too(emulator: EmulatorServer) -> None:
    """Auth comes first even on paths that do not exist."""
    anonymous = httpx2.AsyncClient(base_url=emulator.base_url)
    async with anonymous:
        response = await anonymous.get("/v1/nothing-here")

    assert response.status_code == 401


async def test_unknown_route_is_404_with_envelope(client: httpx2.AsyncClient) -> None:
    """A path outside the API answers the error envelope, not plain text."""
    response = await client.get("/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"] == "Not found"
    assert "/v1/nothing-here" in response.json()["details"]


async def test_wrong_method_is_405_with_envelope(client: httpx2.AsyncClient) -> None:
    """A known path with another method answers 405 in the envelope."""
    response = await client.put("/v1/replica/repositories")

    assert response.status_code == 405
    assert set(response.json()) == {"error", "details"}


async def test_unimplemented_contract_routes_answer_501(
    client: httpx2.AsyncClient,
) -> None:
    """Routes the emulator leaves out say so in a sentence."""
    response = await client.get(f"/v1/replica/{UNKNOWN_ID}/canvas")

    assert response.status_code == 501
    details = response.json()["details"]
    assert details.startswith("The Replicas emulator does not implement GET ")
    assert details.endswith("/canvas.")


async def test_invalid_json_body_is_400_naming_the_problem(
    client: httpx2.AsyncClient,
) -> None:
    """A body that is not JSON gets 400 with the parser's complaint."""
    response = await client.post(
        "/v1/replica", content=b"{name: 1", headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON body"
    assert "line 1" in response.json()["details"]


async def test_json_body_must_be_an_object(client: httpx2.AsyncClient) -> None:
    """A JSON array is valid JSON but not a valid body."""
    response = await client.post("/v1/replica", json=["name"])

    assert response.status_code == 400
    assert response.json()["error"] == "Request body must be a JSON object"


async def test_bodies_over_the_cap_get_413() -> None:
    """Bodies beyond max_body_bytes are refused with the envelope (A29)."""
    config = fast_config(max_body_bytes=2048)
    async with EmulatorServer(config) as server:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        c = httpx2.AsyncClient(base_url=server.base_url, headers=headers)
        async with c:
            response = await c.post("/v1/replica", json={"message": "x" * 4096})

    assert response.status_code == 413
    assert response.json()["error"] == "Request body too large"


async def test_each_key_sees_only_its_own_organisation(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Another org's replica is 404, and its seed has its own ids and names."""
    replica = await create(client)
    headers = {"Authorization": f"Bearer {OTHER_KEY}"}

    other = httpx2.AsyncClient(base_url=emulator.base_url, headers=headers)

    async with other:
        details = await other.get(f"/v1/replica/{replica['id']}")
        listing = await other.get("/v1/replica")
        repos = await other.get("/v1/replica/repositories")
        message = await other.post(
            f"/v1/replica/{replica['id']}/messages", json={"message": "hi"}
        )

    assert details.status_code == 404
    assert details.json()["error"] == "Workspace not found"
    assert message.status_code == 404
    assert listing.json()["total"] == 0
    names = [r["name"] for r in repos.json()["repositories"]]
    assert names == ["globex/web", "globex/api", "globex/docs", "globex/infra"]
    assert replica["repositories"][0]["id"] not in {
        r["id"] for r in repos.json()["repositories"]
    }


async def test_malformed_replica_id_is_404(client: httpx2.AsyncClient) -> None:
    """A path id that is not a UUID cannot name a workspace."""
    response = await client.get("/v1/replica/not-a-uuid")

    assert response.status_code == 404
