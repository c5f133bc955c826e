"""Run the emulator on a real loopback socket, embedded or standalone."""

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Generator
from types import FrameType, TracebackType

import anyio
import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.applications import Starlette

from .app import build_app
from .config import EmulatorConfig
from .faults import FaultInjector
from .state import EmulatorState

logger = logging.getLogger(__name__)

_STARTUP_TIMEOUT = 10.0
_SHUTDOWN_GRACE = 3


def is_loopback(host: str) -> bool:
    """Tell whether `host` names a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _EmbeddedUvicorn(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host program."""

    def __init__(self, config: uvicorn.Config, *, handle_signals: bool) -> None:
        super().__init__(config)
        self._handle_signals = handle_signals
        self._exit_requested = asyncio.Event()

    def request_exit(self) -> None:
        """Ask the server to shut down, without waiting for its next poll."""
        self.should_exit = True
        self._exit_requested.set()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Let a signal end the wait in `main_loop` at once."""
        super().handle_exit(sig, frame)
        self._exit_requested.set()

    async def main_loop(self) -> None:
        """Tick once a second, but wake at once when asked to exit."""
        counter = 0
        while not await self.on_tick(counter):
            # on_tick refreshes the Date header whenever counter % 10 == 0.
            counter = (counter + 10) % 864000
            with anyio.move_on_after(1.0):
                await self._exit_requested.wait()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Install uvicorn's handlers only when running standalone."""
        if self._handle_signals:
            with super().capture_signals():
                yield
        else:
            yield


def _bind(host: str, port: int) -> socket.socket:
    address = "127.0.0.1" if host == "localhost" else host
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets
    # whose listener says TCP, and without it every response waits ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    return sock


class EmulatorServer:
    """The emulator served by uvicorn on a loopback port in the current loop.

    Use `async with EmulatorServer(config) as emu:` inside an asyncio event loop,
    or `with EmulatorServer(config).run_in_thread() as emu:` from sync code.
    Port 0 picks a free port; `base_url` reports the real one.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        handle_signals: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"Refusing to serve the emulator on {host!r}: it has fixed test keys "
                "and no real security. Use a loopback host or pass allow_remote=True."
            )

        self.config = config or EmulatorConfig()
        self.app: Starlette = build_app(self.config)
        self.state: EmulatorState = self.app.state.emulator
        self.host = host
        self.port = port
        self.portal: BlockingPortal | None = None
        """Set inside `run_in_thread()`: runs calls on the emulator's loop."""
        self._handle_signals = handle_signals
        self._server: _EmbeddedUvicorn | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def api_key(self) -> str:
        """The first configured API key."""
        return self.config.first_api_key

    @property
    def faults(self) -> FaultInjector:
        """The fault rules in force; safe to change from any thread."""
        return self.state.faults

    @property
    def base_url(self) -> str:
        """The URL clients should use, e.g. `http://127.0.0.1:54321`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def __aenter__(self) -> "EmulatorServer":
        """Bind the socket, start uvicorn and wait until it serves."""
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=_SHUTDOWN_GRACE,
        )
        server = _EmbeddedUvicorn(config, handle_signals=self._handle_signals)
        self._server = server
        self._task = asyncio.get_running_loop().create_task(server.serve([sock]))

        with anyio.fail_after(_STARTUP_TIMEOUT):
            while not server.started:
                if self._task.done():
                    await self._task
                    raise RuntimeError("The emulator's server stopped during startup")
                await anyio.sleep(0.005)

        logger.info("Replicas emulator listening on %s", self.base_url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close open event streams and stop uvicorn."""
        await self.aclose()

    async def aclose(self) -> None:
        """Stop serving; safe to call more than once."""
        if self._server is None or self._task is None:
            return

        self.state.close_all_streams()
        self._server.request_exit()
        await self._task
        self._server = None
        self._task = None

    async def wait_closed(self) -> None:
        """Wait until the server stops by itself (e.g. on a signal)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    @contextlib.contextmanager
    def run_in_thread(self) -> Generator["EmulatorServer", None, None]:
        """Serve from a background thread's event loop for sync callers.

        The state lives on that thread's loop: from other threads, reach it
        through `portal.call(...)` rather than touching it directly.
        """
        with start_blocking_portal(backend="asyncio") as portal:
            with portal.wrap_async_context_manager(self) as server:
                self.portal = portal
                try:
                    yield server
                finally:
                    self.portal = None


def serve(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    allow_remote: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the emulator until interrupted (for `replicas-mcp emulator`).

    `on_ready` receives the base URL once the server listens. A non-loopback
    `host` is refused unless `allow_remote` is true.
    """

    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"Refusing to serve the emulator on {host!r}; pass allow_remote=True "
            "to expose it beyond this machine."
        )

    async def main() -> None:
        server = EmulatorServer(
            config,
            host=host,
            port=port,
            allow_remote=allow_remote,
            handle_signals=True,
        )
        async with server:
            if on_ready is not None:
                on_ready(server.base_url)
            await server.wait_closed()

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(main, backend="asyncio")
