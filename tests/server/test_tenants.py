"""Tenants: one per key, nothing shared, and no unbounded growth."""

import anyio
import httpx2
import pytest

from replicas_mcp.api import ReplicasClient
from replicas_mcp.config import Settings
from replicas_mcp.server import tenants as tenants_module
from replicas_mcp.server.tenants import Tenants, bearer, keyed_clients

from ._helpers import UNKNOWN_ID

pytestmark = pytest.mark.anyio

# Nothing listens here: no test below needs an answer from the API.
NOWHERE = Settings(base_url="http://127.0.0.1:9")


def test_only_bearer_credentials_are_keys() -> None:
    assert bearer("Bearer sk_a") == "sk_a"
    assert bearer("bearer  sk_a ") == "sk_a"
    assert bearer("Basic c2s6YQ==") is None
    assert bearer("Bearer ") is None
    assert bearer(None) is None


async def test_each_key_has_its_own_tenant() -> None:
    async with keyed_clients(NOWHERE) as connect, anyio.create_task_group() as group:
        tenants = Tenants(group, connect=connect)
        acme = tenants.of({"authorization": "Bearer sk_acme"})
        globex = tenants.of({"authorization": "Bearer sk_globex"})

        assert acme is not None and globex is not None
        assert tenants.for_key("sk_acme") is acme
        assert acme.watchers is not globex.watchers
        assert acme.bus is not globex.bus
        assert tenants.of({}) is None and tenants.of(None) is None


async def test_tenants_share_connections_but_no_key_or_cookie() -> None:
    sent: list[tuple[str | None, str | None]] = []

    def api(request: httpx2.Request) -> httpx2.Response:
        sent.append(
            (request.headers.get("authorization"), request.headers.get("cookie"))
        )
        cookie = {"set-cookie": "lb=a; Path=/"}
        return httpx2.Response(200, json={"repositories": []}, headers=cookie)

    transport = httpx2.MockTransport(api)
    async with keyed_clients(NOWHERE, transport=transport) as connect:
        await connect("sk_acme").list_repositories()
        await connect("sk_globex").list_repositories()

    assert sent == [("Bearer sk_acme", None), ("Bearer sk_globex", None)]


async def test_a_single_tenant_ignores_the_request_headers() -> None:
    async with (
        ReplicasClient(api_key="sk_own", base_url=NOWHERE.base_url) as client,
        anyio.create_task_group() as group,
    ):
        tenants = Tenants(group, client=client)
        own = tenants.of(None)

        assert own is not None and own.client is client
        assert tenants.of({"authorization": "Bearer sk_other"}) is own


async def test_idle_tenants_are_forgotten_beyond_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tenants_module, "MAX_IDLE_TENANTS", 2)
    async with keyed_clients(NOWHERE) as connect, anyio.create_task_group() as group:
        tenants = Tenants(group, connect=connect)
        oldest = tenants.for_key("sk_oldest")
        busy = tenants.for_key("sk_busy")
        # A followed replica keeps its tenant, however long ago it was used.
        busy.watchers.acquire(UNKNOWN_ID)
        for key in ("sk_b", "sk_c", "sk_d"):
            tenants.for_key(key)

        assert tenants.for_key("sk_busy") is busy
        assert tenants.for_key("sk_oldest") is not oldest
        group.cancel_scope.cancel()
