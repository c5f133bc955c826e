"""Creating replicas: validation, targets, and the two create modes (A2, A17)."""

from typing import Any

import httpx2
import pytest

from replicas_mcp.emulator import EmulatorServer

from ._support import (
    API_ENVIRONMENT,
    API_REPOSITORY,
    FRONTEND_SET,
    GLOBAL_ENVIRONMENT,
    PNG_BASE64,
    UNKNOWN_ID,
    VERSION_HEADER,
    WEB_REPOSITORY,
    create,
    fast_config,
    get_json,
    wait_idle,
    wait_status,
)

pytestmark = pytest.mark.anyio

VALID = {"name": "fix-it", "message": "Fix it", "environment_id": API_ENVIRONMENT}


async def post_create(client: httpx2.AsyncClient, **body: Any) -> httpx2.Response:
    """POST /v1/replica with the version header."""
    return await client.post("/v1/replica", json=body, headers=VERSION_HEADER)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({**VALID, "name": "fix it"}, "name must not contain whitespace"),
        ({**VALID, "name": "fix\tit"}, "name must not contain whitespace"),
        ({**VALID, "name": "x" * 256}, "name must be at most 255 characters"),
        ({"message": "Fix it", "environment_id": API_ENVIRONMENT}, "name is required"),
        ({"name": "fix-it", "environment_id": API_ENVIRONMENT}, "message is required"),
        ({**VALID, "message": "   "}, "message is required"),
        (
            {"name": "fix-it", "message": "Fix it"},
            "One of environment_id, repository_set_id or repository_ids is required",
        ),
        (
            {
                "name": "fix-it",
                "message": "Fix it",
                "repository_set_id": FRONTEND_SET,
                "repository_ids": [API_REPOSITORY],
            },
            "Give repository_set_id or repository_ids, not both",
        ),
        ({**VALID, "environment_id": "env-1"}, "environment_id must be a UUID"),
        ({**VALID, "plan_mode": "yes"}, "plan_mode must be a boolean"),
        (
            {**VALID, "thinking_level": "ultra"},
            "thinking_level ultra is only valid for codex",
        ),
        (
            {**VALID, "environment_id": GLOBAL_ENVIRONMENT},
            "environment_id names the global environment",
        ),
    ],
)
async def test_invalid_create_bodies_get_400(
    client: httpx2.AsyncClient, body: dict[str, Any], error: str
) -> None:
    """Each broken rule gets a 400 that names it."""
    response = await post_create(client, **body)

    assert response.status_code == 400
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("coding_agent", "deepseek", "claude, codex, cursor, opencode, pi"),
        ("size", "power", "small, large"),
        ("thinking_level", "extreme", "low, medium, high, xhigh, max, ultra"),
        ("lifecycle_policy", "forever", "default, archive_when_done"),
    ],
)
async def test_unknown_enum_values_get_400_naming_field_and_values(
    client: httpx2.AsyncClient, field: str, value: str, allowed: str
) -> None:
    """Enum checks name the field and list the allowed values (A6)."""
    response = await post_create(client, **{**VALID, field: value})

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field} must be one of: {allowed}")
    assert value in response.json()["details"]


async def test_relaxed_enums_accept_new_agents() -> None:
    """With strict_enums off, an agent the contract does not list is accepted."""
    async with EmulatorServer(fast_config(strict_enums=False)) as server:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        c = httpx2.AsyncClient(base_url=server.base_url, headers=headers)
        async with c:
            response = await post_create(c, **{**VALID, "coding_agent": "deepseek"})
            replica_id = response.json()["replica"]["id"]
            await wait_idle(server.state, replica_id)
            history = await get_json(c, f"/v1/replica/{replica_id}/history")

    assert response.status_code == 201
    assert history["coding_agent"] == "deepseek"
    assert {e["type"] for e in history["events"]} >= {"deepseek-user", "deepseek-done"}


@pytest.mark.parametrize(
    ("target", "missing"),
    [
        ({"environment_id": UNKNOWN_ID}, "Environment not found"),
        ({"repository_set_id": UNKNOWN_ID}, "Repository set not found"),
        ({"repository_ids": [API_REPOSITORY, UNKNOWN_ID]}, "Repository not found"),
    ],
)
async def test_unknown_targets_get_404(
    client: httpx2.AsyncClient, target: dict[str, Any], missing: str
) -> None:
    """An environment, set or repository that does not exist is a 404."""
    response = await post_create(client, name="fix-it", message="Fix it", **target)

    assert response.status_code == 404
    assert response.json()["error"] == missing
    assert UNKNOWN_ID in response.json()["details"]


async def test_create_with_version_header_returns_preparing_then_boots(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """The 2026-05-17 create answers at once; the replica becomes active later."""
    replica = await create(client)

    assert replica["status"] == "preparing"
    assert replica["source"] == "api"
    assert replica["last_activity_at"] is None
    assert replica["pull_requests"] == []
    assert [r["name"] for r in replica["repositories"]] == ["acme/api"]

    await wait_status(emulator.state, replica["id"], "active")
    details = await get_json(client, f"/v1/replica/{replica['id']}")
    assert details["replica"]["status"] == "active"
    assert details["replica"]["waking"] is False


async def test_legacy_create_waits_until_active(client: httpx2.AsyncClient) -> None:
    """Without the version header, create returns only once the replica is up."""
    response = await client.post("/v1/replica", json=VALID)

    assert response.status_code == 201
    assert response.json()["replica"]["status"] == "active"


async def test_unsupported_api_version_is_400(client: httpx2.AsyncClient) -> None:
    """Only 2026-05-17 is a known version."""
    headers = {"X-Replicas-Api-Version": "2099-01-01"}
    response = await client.post("/v1/replica", json=VALID, headers=headers)

    assert response.status_code == 400
    assert "2026-05-17" in response.json()["error"]


async def test_repository_set_target_checks_out_every_member(
    client: httpx2.AsyncClient,
) -> None:
    """A set maps to its environment, whose replica has all the set's repos."""
    replica = await create(client, repository_set_id=FRONTEND_SET, environment_id=None)

    assert [r["name"] for r in replica["repositories"]] == ["acme/web", "acme/api"]


async def test_repository_ids_map_to_the_first_repository_environment(
    client: httpx2.AsyncClient,
) -> None:
    """The deprecated list picks the environment of its first repository."""
    replica = await create(
        client, repository_ids=[WEB_REPOSITORY, API_REPOSITORY], environment_id=None
    )

    assert [r["name"] for r in replica["repositories"]] == ["acme/web"]


async def test_max_active_refuses_more_running_replicas() -> None:
    """The opt-in cap answers the configured status once reached (A17, A18)."""
    async with EmulatorServer(fast_config(max_active=1)) as server:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        c = httpx2.AsyncClient(base_url=server.base_url, headers=headers)
        async with c:
            first = await post_create(c, **VALID)
            second = await post_create(c, **VALID)

    assert first.status_code == 201
    assert second.status_code == 429
    assert second.json()["error"] == "Too many active workspaces"


@pytest.mark.parametrize(
    ("image", "error"),
    [
        ({"type": "file", "source": {}}, 'images[1].type must be "image"'),
        ({"type": "image"}, "images[1].source must be an object"),
        (
            {"type": "image", "source": {"type": "s3", "url": "s3://b/k"}},
            "images[1].source.type must be one of: base64, url",
        ),
        (
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/bmp", "data": "AA=="},
            },
            "images[1].source.media_type must be one of: "
            "image/png, image/jpeg, image/gif, image/webp",
        ),
        (
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": ""},
            },
            "images[1].source.data must be a non-empty base64 string",
        ),
        (
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "a*b="},
            },
            "images[1].source.data is not valid base64",
        ),
        (
            {"type": "image", "source": {"type": "url", "url": "ftp://x/y.png"}},
            "images[1].source.url must be an http or https URL",
        ),
    ],
)
async def test_invalid_images_get_400_naming_the_index(
    client: httpx2.AsyncClient, image: dict[str, Any], error: str
) -> None:
    """Each image is checked against §3.11; the error points at the bad one."""
    good = {"type": "image", "source": {"type": "url", "url": "https://x.io/a.png"}}
    response = await post_create(client, **VALID, images=[good, image])

    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_accepted_images_reach_the_user_event(
    emulator: EmulatorServer, client: httpx2.AsyncClient
) -> None:
    """Images ride along as content blocks of the user's history event."""
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG_BASE64},
    }
    replica = await create(client, "Why is the login button grey?", images=[image])
    await wait_idle(emulator.state, replica["id"])

    history = await get_json(client, f"/v1/replica/{replica['id']}/history")

    first = history["events"][0]
    assert first["type"] == "claude-user"
    content = first["payload"]["message"]["content"]
    assert content == [{"type": "text", "text": "Why is the login button grey?"}, image]
