"""`create_app`: the guarded MCP endpoint as an ASGI app factory, for workers.

uvicorn, and gunicorn with uvicorn workers, run several processes on one port
only from an importable factory, which each worker calls once:

    uvicorn --factory replicas_mcp.server.asgi:create_app --workers 4

A worker knows nothing but its environment, so the factory reads everything
from there: `REPLICAS_*` (`Settings`) for the Replicas API and `REPLICAS_MCP_*`
(`HTTPSettings`) for the endpoint's guards, with `REPLICAS_MCP_HOST` naming the
address uvicorn binds, since the Host checks and the token rule depend on it.
`serve --transport http --workers N` writes its flags into that environment
and runs this same factory under uvicorn's supervisor (`serve_workers`).

Several workers share nothing, so they must serve statelessly
(`REPLICAS_MCP_STATELESS`): a 2025-11-25 session lives in the worker that
opened it, and any other worker answers its requests with 404.
"""

import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn

import uvicorn
from pydantic import SecretStr, ValidationError
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from ..config import HTTPSettings, Settings, settings_problems
from .app import build_server
from .http_transport import (
    GRACEFUL_SHUTDOWN_SECONDS,
    HTTPOptions,
    bind,
    http_app,
    refusal,
)

logger = logging.getLogger(__name__)

FACTORY = f"{__name__}:create_app"
# uvicorn's exit code for a worker that could not start: its supervisor then
# stops, rather than starting the same broken worker again and again.
STARTUP_FAILURE = 3


def create_app() -> ASGIApp:
    """The guarded endpoint, configured from the environment (once per worker)."""
    _configure_logging()
    try:
        options = HTTPOptions.from_settings(HTTPSettings())
        refused = refusal(options)
        server = None if refused else build_server(Settings())
    except ValueError as exc:  # pydantic's ValidationError is one too
        _stop(f"invalid configuration: {_problems(exc)}")

    if server is None:
        _stop(str(refused))

    return http_app(server, options)


def workers_refusal(count: int, options: HTTPOptions, emulator: bool) -> str | None:
    """Why `count` workers cannot serve with these options, or None."""
    if count < 1:
        return f"--workers must be 1 or more, not {count}"

    if count == 1:
        return None

    if emulator:
        return (
            f"--workers {count} cannot use --emulator: each worker would start an "
            "emulator of its own, with its own replicas, and a replica made "
            "through one worker would be unknown to the others. Run "
            "`replicas-mcp emulator` once and point --base-url (REPLICAS_BASE_URL) "
            "and REPLICAS_API_KEY at it"
        )

    if not options.stateless:
        # Asked for rather than implied: stateless changes what clients get
        # (no 2025 resource subscriptions), which nobody should learn by surprise.
        return (
            f"--workers {count} needs --stateless (REPLICAS_MCP_STATELESS=true): a "
            "2025-11-25 session lives in the worker that opened it, and the other "
            "workers would answer its requests with 404. Stateless, every request "
            "stands alone; only 2025-11-25 resources/subscribe stops working. To "
            "keep it, run single-worker servers behind a load balancer with sticky "
            "sessions keyed on the Mcp-Session-Id header"
        )

    return None


def serve_workers(
    settings: Settings,
    options: HTTPOptions,
    count: int,
    *,
    announce: Callable[[str], None],
    log_level: int,
) -> None:
    """Run `count` workers of `create_app` on one port until a signal stops them.

    The port is bound here, once, and handed to every worker, so port 0 picks
    one free port for all of them. Raises OSError if it cannot be bound.
    """
    listening, url = bind(options)
    # Spawned workers inherit this process's environment, and nothing else.
    for name, value in worker_environment(settings, options).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    config = uvicorn.Config(
        FACTORY,
        factory=True,
        workers=count,
        host=options.host,
        port=listening.getsockname()[1],
        # Logging is the CLI's; workers follow its level (`_configure_logging`).
        log_config=None,
        log_level=log_level,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    announce(url)
    Multiprocess(config, sockets=[listening]).run()


def worker_environment(
    settings: Settings, options: HTTPOptions
) -> dict[str, str | None]:
    """The variables that make a worker's `create_app` serve like this process.

    None means the variable must be unset, e.g. a key the parent's environment
    holds that multi-tenant mode ignores.
    """
    values: dict[str, object] = {
        f"REPLICAS_{name.upper()}": getattr(settings, name)
        for name in Settings.model_fields
    }
    values |= {
        "REPLICAS_MCP_HOST": options.host,
        "REPLICAS_MCP_AUTH_TOKEN": options.auth_token,
        "REPLICAS_MCP_ALLOWED_HOSTS": options.allowed_hosts,
        "REPLICAS_MCP_ALLOWED_ORIGINS": options.allowed_origins,
        "REPLICAS_MCP_STATELESS": options.stateless,
    }
    return {name: _as_variable(value) for name, value in values.items()}


def _as_variable(value: object) -> str | None:
    """`value` as `Settings` and `HTTPSettings` read it back from a variable."""
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]

    return str(value)


def _configure_logging() -> None:
    """Log to stderr at the level uvicorn was given, unless a host already logs.

    A spawned worker starts with bare logging; gunicorn configures its own.
    """
    if logging.getLogger().handlers:
        return

    level = logging.getLogger("uvicorn.error").getEffectiveLevel()
    logging.basicConfig(
        stream=sys.stderr,
        level=level,
        format=f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s",
    )
    # httpx2 logs every request URL at INFO: noise unless debugging.
    if level > logging.DEBUG:
        logging.getLogger("httpx2").setLevel(logging.WARNING)


def _problems(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return settings_problems(exc)

    return str(exc)


def _stop(message: str) -> NoReturn:
    logger.error("%s", message)
    sys.exit(STARTUP_FAILURE)
