"""`serve --transport http --workers 2 --stateless` for real: two processes, one port.

One supervisor and its two workers serve the whole module. Every step below
opens a connection of its own, so the kernel may hand each one to either
worker; whatever a step needs must therefore hold in both.
"""

import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.subscriptions import ResourceUpdated
from mcp.types import ResourceTemplateReference
from pydantic import SecretStr

from replicas_mcp import cli
from replicas_mcp.config import HTTPSettings, Settings
from replicas_mcp.emulator import EmulatorServer
from replicas_mcp.server.asgi import create_app, worker_environment
from replicas_mcp.server.http_transport import HTTPOptions

from .conftest import API_KEY, MODES
from .jsonrpc import ACCEPT, INITIALIZE
from .server._helpers import create, ok

pytestmark = pytest.mark.anyio

TOKEN = "worker-token-for-tests-0123456789"
START_SECONDS = 30


@dataclass
class Workers:
    """The running supervisor: its endpoint, and everything it said on stderr."""

    url: str
    process: subprocess.Popen[str]
    said: list[str] = field(default_factory=list[str])


@pytest.fixture(scope="module")
def workers(emulator: EmulatorServer) -> Iterator[Workers]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "REPLICAS_API_KEY": API_KEY,
        "REPLICAS_MCP_AUTH_TOKEN": TOKEN,
    }
    command = [sys.executable, "-m", "replicas_mcp", "serve", "--transport", "http"]
    command += ["--workers", "2", "--stateless", "--port", "0"]
    command += ["--base-url", emulator.base_url]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    said: list[str] = []
    # Reads on after the endpoint line, so workers never block on a full pipe.
    drain = threading.Thread(target=_drain, args=(process.stderr, said))
    try:
        url = _endpoint(process.stderr, said, time.monotonic() + START_SECONDS)
        drain.start()
        running = Workers(url, process, said)
        _wait_until_served(running)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=15)
        if drain.is_alive():
            drain.join(timeout=5)  # ends at EOF: every worker has exited
        process.stderr.close()


def _endpoint(stderr: IO[str], said: list[str], deadline: float) -> str:
    """The URL from the `MCP endpoint:` line, read before `deadline`."""
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([stderr], [], [], remaining)
        line = stderr.readline() if readable else ""
        if not line:
            break
        said.append(line)
        if line.startswith("MCP endpoint: "):
            return line.removeprefix("MCP endpoint: ").strip()

    raise AssertionError(f"the server never said where it listens: {said}")


def _drain(stderr: IO[str], said: list[str]) -> None:
    for line in stderr:
        said.append(line)


def _wait_until_served(running: Workers) -> None:
    """The port is bound before the workers start: a request waits in the
    backlog until one of them accepts it, so one bounded request is the
    readiness check."""
    answered = httpx2.post(
        running.url, json=INITIALIZE, headers=ACCEPT, timeout=START_SECONDS
    )
    assert answered.status_code == 401, answered.text


@asynccontextmanager
async def connected(
    url: str, mode: str = "auto", token: str = TOKEN
) -> AsyncGenerator[Client]:
    """A fresh connection (and client) with the server token."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


def _worker_pids(supervisor: int) -> list[int]:
    """The supervisor's children that run a multiprocessing worker."""
    found: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces; the parent pid follows it.
            fields = stat.read_text().rpartition(")")[2].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == supervisor and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))

    return found


# The processes


def test_one_supervisor_runs_two_workers(workers: Workers) -> None:
    assert len(_worker_pids(workers.process.pid)) == 2
    assert workers.url.startswith("http://127.0.0.1:")
    assert not workers.url.endswith(":0/mcp")


# What works statelessly, on any worker


@MODES
async def test_tools_waits_resources_prompts_and_completions(
    workers: Workers, mode: str
) -> None:
    url = workers.url
    with anyio.fail_after(30):
        async with connected(url, mode) as client:
            tools = await client.list_tools()
        async with connected(url, mode) as client:
            catalog = await ok(client, "list_repositories", {})
        async with connected(url, mode) as client:
            replica = await create(client, name=f"worker-{mode}")
        waited, progress = await _wait_idle(url, mode, replica["id"])
        uri = f"replicas://replica/{replica['id']}"
        async with connected(url, mode) as client:
            status = await client.read_resource(uri)
        async with connected(url, mode) as client:
            prompt = await client.get_prompt(
                "review_replica", {"replica_id": replica["id"]}
            )
        async with connected(url, mode) as client:
            completion = await _complete_replica_id(client)

    assert any(tool.name == "wait_for_replicas" for tool in tools.tools)
    assert catalog["repositories"]
    assert not waited["timed_out"]
    assert waited["replicas"][0]["replica_id"] == replica["id"]
    assert progress, "the wait's progress came back on its own request"
    assert replica["id"] in str(status.contents[0])
    assert prompt.messages
    assert replica["id"] in completion


async def _wait_idle(url: str, mode: str, replica_id: str) -> tuple[Any, list[str]]:
    """Wait on a connection of its own, collecting its progress messages."""
    said: list[str] = []

    async def heard(progress: float, total: float | None, message: str | None) -> None:
        said.append(message or "")

    arguments = {"replica_ids": replica_id, "until": "idle", "timeout": 20}
    async with connected(url, mode) as client:
        result = await client.call_tool(
            "wait_for_replicas", arguments, progress_callback=heard
        )
    assert not result.is_error, result.content
    return result.structured_content, said


async def _complete_replica_id(client: Client) -> list[str]:
    template = ResourceTemplateReference(
        type="ref/resource", uri="replicas://replica/{replica_id}"
    )
    answer = await client.complete(template, {"name": "replica_id", "value": ""})
    return answer.completion.values


async def test_twenty_independent_connections_all_succeed(workers: Workers) -> None:
    answered: list[str] = []

    async def one(index: int) -> None:
        mode = ("auto", "legacy")[index % 2]
        async with connected(workers.url, mode) as client:
            page = await ok(client, "list_replicas", {"limit": 1})
        answered.append(f"{mode}:{'replicas' in page}")

    with anyio.fail_after(30):
        async with anyio.create_task_group() as task_group:
            for index in range(20):
                task_group.start_soon(one, index)

    assert sorted(answered) == ["auto:True"] * 10 + ["legacy:True"] * 10


# The guards, in every worker


async def test_the_token_host_and_origin_checks_hold(workers: Workers) -> None:
    url = workers.url
    port = httpx2.URL(url).port
    right = {"Authorization": f"Bearer {TOKEN}"}
    statuses: dict[str, set[int]] = {}
    # Ten fresh connections per case, so both workers get to refuse.
    cases = {
        "no token": {},
        "wrong token": {"Authorization": "Bearer not-the-token-at-all-000"},
        "foreign host": right | {"Host": "evil.example:80"},
        "foreign origin": right | {"Origin": "http://evil.example"},
        "all right": right | {"Origin": f"http://localhost:{port}"},
    }
    with anyio.fail_after(30):
        for case, headers in cases.items():
            for _ in range(10):
                async with httpx2.AsyncClient() as http:
                    answer = await http.post(
                        url, json=INITIALIZE, headers=ACCEPT | headers
                    )
                statuses.setdefault(case, set()).add(answer.status_code)

    assert statuses == {
        "no token": {401},
        "wrong token": {401},
        "foreign host": {421},
        "foreign origin": {403},
        "all right": {200},
    }


def test_no_secret_reaches_the_logs(workers: Workers) -> None:
    said = "".join(workers.said)

    assert API_KEY not in said and TOKEN not in said


# What needs a session


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_a_2025_subscription_is_refused_with_the_reason(
    workers: Workers,
) -> None:
    with anyio.fail_after(30):
        async with connected(workers.url, "legacy") as client:
            replica = await create(client, name="subscribed")
            uri = f"replicas://replica/{replica['id']}"
            resources = client.server_capabilities.resources
            with pytest.raises(MCPError) as refused:
                await client.subscribe_resource(uri)  # pyright: ignore[reportDeprecated]

    message = refused.value.error.message
    assert resources is not None and not resources.subscribe
    assert "stateless" in message and "subscriptions/listen" in message
    assert "sticky sessions" in message and "Mcp-Session-Id" in message


async def test_a_2026_listen_hears_changes_made_through_other_connections(
    workers: Workers,
) -> None:
    url = workers.url
    with anyio.fail_after(30):
        async with connected(url) as client:
            replica = await create(client, name="listened-to")
        await _wait_idle(url, "auto", replica["id"])
        uri = f"replicas://replica/{replica['id']}"
        async with (
            connected(url) as listener,
            listener.listen(resource_subscriptions=[uri]) as heard,
        ):
            # The listening worker follows the replica upstream itself, so a
            # change made through whichever worker reaches it.
            async with connected(url) as sender:
                message = {"replica_id": replica["id"], "message": "Add a test"}
                await ok(sender, "send_message", message)
            event = await anext(aiter(heard))

    assert event == ResourceUpdated(uri=uri)


# Refusals


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (["--workers", "0"], "--workers must be 1 or more"),
        (["--workers", "2", "--stateless", "--emulator"], "replicas-mcp emulator"),
        (["--workers", "2"], "--stateless"),
    ],
    ids=["zero", "emulator", "stateful"],
)
def test_impossible_worker_setups_are_refused(
    flags: list[str],
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("REPLICAS_API_KEY", API_KEY)
    monkeypatch.delenv("REPLICAS_MCP_STATELESS", raising=False)

    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--transport", "http", "--port", "0", *flags])

    assert exit_.value.code == 2
    assert reason in caplog.text
    assert API_KEY not in caplog.text


# The factory that uvicorn and gunicorn run


def test_workers_read_back_what_the_cli_resolved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(
        api_key=SecretStr(API_KEY),
        base_url="http://127.0.0.1:9",
        read_only=True,
        tools=("get_replica", "list_replicas"),
    )
    http = HTTPSettings(
        auth_token=SecretStr(TOKEN),
        allowed_hosts=("mcp.example.com", "10.0.0.5"),
        host="10.0.0.5",
        stateless=True,
    )
    options = HTTPOptions.from_settings(http)
    monkeypatch.setenv("REPLICAS_MULTI_TENANT", "true")  # must be overwritten
    for name, value in worker_environment(settings, options).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)

    assert Settings() == settings
    assert HTTPOptions.from_settings(HTTPSettings()) == options


def test_the_factory_refuses_an_unguarded_public_bind(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REPLICAS_MCP_HOST", "10.0.0.5")
    monkeypatch.delenv("REPLICAS_MCP_AUTH_TOKEN", raising=False)

    with pytest.raises(SystemExit) as exit_:
        create_app()

    # uvicorn's supervisor stops on this code instead of restarting the worker.
    assert exit_.value.code == 3
    assert "REPLICAS_MCP_AUTH_TOKEN" in caplog.text


async def test_a_factory_not_told_its_address_serves_only_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As under `uvicorn --host 0.0.0.0` without REPLICAS_MCP_HOST: the app
    # believes it is on loopback, so no token was demanded at start.
    for name in ("REPLICAS_MCP_HOST", "REPLICAS_MCP_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    transport = httpx2.ASGITransport(app=create_app())

    async with httpx2.AsyncClient(transport=transport) as http:
        # The URL's host is the address the request arrived on.
        answer = await http.post(
            "http://10.0.0.5:8000/mcp",
            json=INITIALIZE,
            headers=ACCEPT | {"Host": "127.0.0.1:8000"},
        )

    assert answer.status_code == 403
    assert "REPLICAS_MCP_AUTH_TOKEN" in answer.text
