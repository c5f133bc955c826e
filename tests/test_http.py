"""`serve --transport http` for real over loopback: guards, tenants, sessions."""

import logging
import os
import subprocess
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from anyio.streams.text import TextReceiveStream
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.subscriptions import ResourceUpdated
from mcp.types import ResourceTemplateReference
from pydantic import SecretStr

from replicas_mcp import cli
from replicas_mcp.config import Settings
from replicas_mcp.emulator import EmulatorServer
from replicas_mcp.server import ReplicasServer, build_server
from replicas_mcp.server.http_transport import (
    TOKEN_HEADER,
    HTTPOptions,
    HTTPService,
    refusal,
    security_settings,
)

from .conftest import API_KEY, MODES, OTHER_ORG_KEY
from .jsonrpc import ACCEPT, INITIALIZE
from .server._helpers import create, error, ok, text_of

pytestmark = pytest.mark.anyio

TOKEN = "server-token-for-tests-0123456789"
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


@asynccontextmanager
async def serving(server: ReplicasServer, **options: Any) -> AsyncGenerator[str]:
    """Serve `server` on a free loopback port; yield the endpoint's URL."""
    service = HTTPService(server, HTTPOptions(port=0, **options))
    url = service.listen()
    stopped = anyio.Event()

    async def serve() -> None:
        await service.serve()
        stopped.set()

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(serve)
        try:
            yield url
        finally:
            service.stop()
            with anyio.fail_after(10):
                await stopped.wait()


@asynccontextmanager
async def mcp_client(
    url: str, mode: str = "auto", **headers: str
) -> AsyncGenerator[Client]:
    """An SDK client over streamable HTTP that sends `headers` on every request."""
    async with httpx2.AsyncClient(headers=headers) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode) as client:
            yield client


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def single(emulator: EmulatorServer) -> ReplicasServer:
    settings = Settings(api_key=SecretStr(API_KEY), base_url=emulator.base_url)
    return build_server(settings)


def multi(emulator: EmulatorServer) -> ReplicasServer:
    return build_server(Settings(multi_tenant=True, base_url=emulator.base_url))


async def post(url: str, body: dict[str, Any], **headers: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(url, json=body, headers=ACCEPT | headers)


# DNS rebinding: Host and Origin


@MODES
async def test_loopback_refuses_foreign_hosts_and_origins(
    emulator: EmulatorServer, mode: str
) -> None:
    era = {"MCP-Protocol-Version": "2026-07-28"} if mode == "auto" else {}
    async with serving(single(emulator)) as url:
        local = f"localhost:{httpx2.URL(url).port}"
        foreign_host = await post(url, INITIALIZE, Host="evil.example:80", **era)
        foreign_origin = await post(
            url, INITIALIZE, Origin="http://evil.example", **era
        )
        async with mcp_client(
            url, mode, Origin=f"http://{local}", Host=local
        ) as client:
            tools = await client.list_tools()

    assert foreign_host.status_code == 421
    assert foreign_origin.status_code == 403
    assert tools.tools


async def test_allowed_hosts_and_origins_extend_the_checks(
    emulator: EmulatorServer,
) -> None:
    options = {
        "allowed_hosts": ("mcp.example.com",),
        "allowed_origins": ("https://app.example.com",),
    }
    async with serving(single(emulator), **options) as url:
        named = await post(url, INITIALIZE, Host="mcp.example.com")
        other = await post(url, INITIALIZE, Host="other.example.com")
        app = await post(url, INITIALIZE, Origin="https://app.example.com")
        site = await post(url, INITIALIZE, Origin="https://evil.example.com")

    assert (named.status_code, other.status_code) == (200, 421)
    assert (app.status_code, site.status_code) == (200, 403)


def test_the_checks_stay_on_for_every_binding() -> None:
    public = security_settings(
        HTTPOptions(host="0.0.0.0", auth_token=TOKEN, allowed_hosts=("mcp.example",))
    )
    address = security_settings(HTTPOptions(host="10.1.2.3", auth_token=TOKEN))
    ipv6 = security_settings(HTTPOptions(host="fd00::5", auth_token=TOKEN))

    assert public.enable_dns_rebinding_protection
    assert {"mcp.example", "mcp.example:*", "localhost:*"} <= set(public.allowed_hosts)
    assert address.enable_dns_rebinding_protection
    assert address.allowed_hosts == ["10.1.2.3", "10.1.2.3:*"]
    assert address.allowed_origins == []
    assert ipv6.allowed_hosts == ["[fd00::5]", "[fd00::5]:*"]


# The server token


async def test_a_missing_or_wrong_token_gets_401(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serving(single(emulator), auth_token=TOKEN) as url:
        missing = await post(url, INITIALIZE)
        wrong = await post(url, INITIALIZE, **bearer("not-the-token-at-all"))
        right = await post(url, INITIALIZE, **bearer(TOKEN))

    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer realm=")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert "not-the-token" not in wrong.text and TOKEN not in wrong.text
    assert "not-the-token" not in caplog.text and TOKEN not in caplog.text
    assert right.status_code == 200


def test_a_short_token_is_refused_without_being_echoed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REPLICAS_MCP_AUTH_TOKEN", "hunter2")
    args = cli._parser().parse_args(["serve", "--transport", "http"])

    with pytest.raises(SystemExit):
        cli._serve(args)

    assert "REPLICAS_MCP_AUTH_TOKEN must be at least 16 characters" in caplog.text
    assert "hunter2" not in caplog.text


@MODES
async def test_the_right_token_works(emulator: EmulatorServer, mode: str) -> None:
    async with (
        serving(single(emulator), auth_token=TOKEN) as url,
        mcp_client(url, mode, **bearer(TOKEN)) as client,
    ):
        tools = await client.list_tools()
        page = await ok(client, "list_replicas", {})

    assert any(tool.name == "create_replica" for tool in tools.tools)
    assert "replicas" in page


def test_off_loopback_the_server_needs_a_token_and_host_names() -> None:
    no_token = refusal(HTTPOptions(host="10.1.2.3"))
    no_names = refusal(HTTPOptions(host="0.0.0.0", auth_token=TOKEN))

    assert no_token is not None and "REPLICAS_MCP_AUTH_TOKEN" in no_token
    assert no_names is not None and "REPLICAS_MCP_ALLOWED_HOSTS" in no_names
    assert refusal(HTTPOptions(host="10.1.2.3", auth_token=TOKEN)) is None
    assert refusal(HTTPOptions(host="127.0.0.1")) is None
    assert refusal(HTTPOptions(host="::1")) is None


def test_a_public_bind_without_token_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("REPLICAS_MCP_AUTH_TOKEN", raising=False)
    argv = ["serve", "--transport", "http", "--host", "0.0.0.0", "--port", "0"]

    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)

    assert exit_.value.code == 2
    assert "REPLICAS_MCP_AUTH_TOKEN" in caplog.text


def test_multi_tenant_needs_http(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REPLICAS_MULTI_TENANT", "true")
    args = cli._parser().parse_args(["serve"])

    with pytest.raises(SystemExit):
        cli._serve(args)

    assert "--transport http" in caplog.text


async def test_port_zero_prints_the_bound_url(emulator: EmulatorServer) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "REPLICAS_MCP_AUTH_TOKEN": TOKEN,
    }
    command = [sys.executable, "-m", "replicas_mcp", "serve", "--transport", "http"]
    command += ["--port", "0", "--emulator"]

    async with await anyio.open_process(
        command, env=env, stdout=subprocess.DEVNULL
    ) as process:
        try:
            assert process.stderr is not None
            with anyio.fail_after(60):
                url = await _endpoint(TextReceiveStream(process.stderr))
                async with mcp_client(url, **bearer(TOKEN)) as client:
                    page = await ok(client, "list_replicas", {})
        finally:
            process.terminate()

    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/mcp")
    assert "replicas" in page


async def _endpoint(stderr: TextReceiveStream) -> str:
    said = ""
    async for chunk in stderr:
        said += chunk
        for line in said.splitlines():
            if line.startswith("MCP endpoint: "):
                return line.removeprefix("MCP endpoint: ").strip()

    raise AssertionError(f"the server never said where it listens: {said}")


# Multi-tenant mode


@MODES
async def test_one_tenant_cannot_see_another_tenants_replicas(
    emulator: EmulatorServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = {TOKEN_HEADER: TOKEN}
    async with (
        serving(multi(emulator), auth_token=TOKEN) as url,
        mcp_client(url, mode, **bearer(API_KEY), **token) as acme,
        mcp_client(url, mode, **bearer(OTHER_ORG_KEY), **token) as globex,
    ):
        replica_id = (await create(acme, name="acme-only"))["id"]
        uri = f"replicas://replica/{replica_id}"

        acme_sees = await _visible(acme, replica_id)
        globex_sees = await _visible(globex, replica_id)
        refused = await error(globex, "get_replica", {"replica_id": replica_id})
        with pytest.raises(MCPError):
            await globex.read_resource(uri)

    assert acme_sees == {"list": True, "resources": True, "completion": True}
    assert globex_sees == {"list": False, "resources": False, "completion": False}
    assert "not found" in refused
    assert API_KEY not in caplog.text and OTHER_ORG_KEY not in caplog.text


async def _visible(client: Client, replica_id: str) -> dict[str, bool]:
    """Where `replica_id` shows up for this client."""
    page = await ok(client, "list_replicas", {"limit": 100})
    resources = await client.list_resources()
    template = ResourceTemplateReference(
        type="ref/resource", uri="replicas://replica/{replica_id}"
    )
    completion = await client.complete(template, {"name": "replica_id", "value": ""})
    return {
        "list": replica_id in {r["id"] for r in page["replicas"]},
        "resources": any(replica_id in str(r.uri) for r in resources.resources),
        "completion": replica_id in completion.completion.values,
    }


@MODES
@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_tenants_never_share_a_replica_stream(
    emulator: EmulatorServer, mode: str
) -> None:
    async with (
        serving(multi(emulator)) as url,
        mcp_client(url, mode, **bearer(API_KEY)) as acme,
        mcp_client(url, mode, **bearer(OTHER_ORG_KEY)) as globex,
    ):
        replica_id = (await create(acme, name="followed"))["id"]
        await ok(acme, "wait_for_replicas", {"replica_ids": replica_id})
        # acme's watcher of the replica stays open while it is subscribed.
        async with _subscribed(acme, mode, f"replicas://replica/{replica_id}"):
            waited = await globex.call_tool(
                "wait_for_replicas",
                {"replica_ids": replica_id, "until": "needs_input", "timeout": 5},
            )

    # globex's own watcher met a 404 at once; sharing acme's, it would have
    # waited on acme's idle replica for a question until the timeout.
    assert waited.is_error
    assert f"replica {replica_id} not found" in text_of(waited)


async def test_a_tenant_hears_its_replica_whoever_listened_first(
    emulator: EmulatorServer,
) -> None:
    async with (
        serving(multi(emulator)) as url,
        mcp_client(url, **bearer(API_KEY)) as acme,
        mcp_client(url, **bearer(OTHER_ORG_KEY)) as globex,
    ):
        replica_id = (await create(acme, name="listened-to"))["id"]
        await ok(acme, "wait_for_replicas", {"replica_ids": replica_id})
        uri = f"replicas://replica/{replica_id}"

        # globex's listen comes first and follows the replica with its own
        # key (a 404); acme's must still get a stream of its own.
        async with (
            globex.listen(resource_subscriptions=[uri]),
            acme.listen(resource_subscriptions=[uri]) as heard,
        ):
            message = {"replica_id": replica_id, "message": "Add a test"}
            await ok(acme, "send_message", message)
            with anyio.fail_after(10):
                event = await anext(aiter(heard))

    assert event == ResourceUpdated(uri=uri)


@asynccontextmanager
async def _subscribed(client: Client, mode: str, uri: str) -> AsyncGenerator[None]:
    if mode == "legacy":
        await client.subscribe_resource(uri)  # pyright: ignore[reportDeprecated]
        yield
        await client.unsubscribe_resource(uri)  # pyright: ignore[reportDeprecated]
        return

    async with client.listen(resource_subscriptions=[uri]):
        yield


@MODES
async def test_a_request_without_a_key_is_told_how_to_send_one(
    emulator: EmulatorServer, mode: str
) -> None:
    async with serving(multi(emulator)) as url, mcp_client(url, mode) as client:
        tools = await client.list_tools()
        resources = await client.list_resources()
        text = await error(client, "list_replicas", {})

    assert tools.tools
    assert resources.resources == []
    assert "Authorization: Bearer" in text and "multi-tenant" in text


async def test_multi_tenant_takes_the_server_token_in_its_own_header(
    emulator: EmulatorServer,
) -> None:
    async with serving(multi(emulator), auth_token=TOKEN) as url:
        key_only = await post(url, INITIALIZE, **bearer(API_KEY))
        token_as_bearer = await post(url, INITIALIZE, **bearer(TOKEN))
        both = await post(url, INITIALIZE, **bearer(API_KEY), **{TOKEN_HEADER: TOKEN})

    assert key_only.status_code == token_as_bearer.status_code == 401
    assert key_only.headers["WWW-Authenticate"].startswith(TOKEN_HEADER)
    assert TOKEN_HEADER in key_only.text
    assert both.status_code == 200


# Sessions (2025-11-25; 2026-07-28 has none)


async def test_an_unknown_or_ended_session_gets_404(emulator: EmulatorServer) -> None:
    legacy = {"MCP-Protocol-Version": "2025-11-25"}
    async with serving(single(emulator)) as url, httpx2.AsyncClient() as http:
        opened = await http.post(url, json=INITIALIZE, headers=ACCEPT)
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"]}
        unknown = {"Mcp-Session-Id": "0123456789abcdef0123456789abcdef"}

        made_up = await http.post(
            url, json=TOOLS_LIST, headers=ACCEPT | legacy | unknown
        )
        ended = await http.delete(url, headers=legacy | session)
        after = await http.post(url, json=TOOLS_LIST, headers=ACCEPT | legacy | session)

    assert made_up.status_code == 404
    assert ended.status_code == 200
    assert after.status_code == 404


async def test_a_session_stays_with_the_tenant_that_opened_it(
    emulator: EmulatorServer,
) -> None:
    legacy = {"MCP-Protocol-Version": "2025-11-25"}
    async with serving(multi(emulator)) as url:
        opened = await post(url, INITIALIZE, **bearer(API_KEY))
        session = legacy | {"Mcp-Session-Id": opened.headers["mcp-session-id"]}

        other = await post(url, TOOLS_LIST, **session, **bearer(OTHER_ORG_KEY))
        owner = await post(url, TOOLS_LIST, **session, **bearer(API_KEY))

    assert other.status_code == 404
    assert owner.status_code == 200
