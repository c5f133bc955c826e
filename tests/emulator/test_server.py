"""Embedding the emulator: ports, threads, loopback-only, the package façade."""

from types import ModuleType

import httpx2
import pytest

import replicas_mcp.emulator as emulator_package
from replicas_mcp.emulator import EmulatorConfig, EmulatorServer, build_app, serve

from ._support import API_KEY, fast_config


def test_run_in_thread_serves_sync_callers() -> None:
    """A background-thread server reports its real port and answers requests."""
    server = EmulatorServer(fast_config())

    with server.run_in_thread() as running:
        headers = {"Authorization": f"Bearer {running.api_key}"}
        response = httpx2.get(f"{running.base_url}/v1/replica", headers=headers)
        assert running.portal is not None
        count = running.portal.call(running.state.open_streams, "nope")

    assert running.api_key == API_KEY
    assert running.port != 0
    assert response.status_code == 200
    assert count == 0
    assert server.portal is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    """Binding anywhere but loopback needs allow_remote=True."""
    with pytest.raises(ValueError, match="allow_remote"):
        EmulatorServer(fast_config(), host=host)
    with pytest.raises(ValueError, match="allow_remote"):
        serve(fast_config(), host=host, port=0)


def test_remote_hosts_can_be_allowed_explicitly() -> None:
    """allow_remote lifts the check without binding anything yet."""
    server = EmulatorServer(fast_config(), host="0.0.0.0", allow_remote=True)

    assert server.base_url == "http://0.0.0.0:0"


@pytest.mark.anyio
async def test_ipv6_loopback_works() -> None:
    """`::1` is loopback too, and the URL brackets it."""
    async with EmulatorServer(fast_config(), host="::1") as server:
        client = httpx2.AsyncClient()
        async with client:
            response = await client.get(f"{server.base_url}/v1/replica")

    assert server.base_url.startswith("http://[::1]:")
    assert response.status_code == 401


def test_app_exposes_its_state() -> None:
    """build_app hangs the state on app.state.emulator for assertions."""
    app = build_app(fast_config())

    assert app.state.emulator.config.api_keys[API_KEY] == "acme"


@pytest.mark.parametrize(
    "overrides",
    [
        {"api_keys": {}},
        {"boot_delay": -1},
        {"heartbeat_interval": 0},
        {"failing_start_hooks": "api"},
    ],
)
def test_config_rejects_nonsense(overrides: dict[str, object]) -> None:
    """Impossible knob values fail at construction."""
    with pytest.raises(ValueError):
        EmulatorConfig(**overrides)  # pyright: ignore[reportArgumentType]


def test_config_defaults_suit_a_demo() -> None:
    """Defaults: one org, a one-second boot, ten idle minutes, 15 s pings."""
    config = EmulatorConfig()

    assert config.organizations == ["acme"]
    assert (config.boot_delay, config.idle_timeout) == (1.0, 600.0)
    assert config.heartbeat_interval == 15.0


def test_all_lists_the_public_names_sorted() -> None:
    """__all__ is sorted and names exactly the public members."""
    public = {
        name
        for name, value in vars(emulator_package).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }

    assert emulator_package.__all__ == sorted(emulator_package.__all__)
    assert set(emulator_package.__all__) == public
