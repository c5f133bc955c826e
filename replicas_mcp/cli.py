"""The `replicas-mcp` command: serve, run the emulator, or show a demo."""

import argparse
import logging
import secrets
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any, NoReturn

import anyio
from pydantic import SecretStr, ValidationError

from ._version import __version__
from .api import ReplicasClient
from .config import Settings
from .server import build_server, select_tools

logger = logging.getLogger(__name__)

EMULATOR_ORG = "acme"


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script and of `python -m replicas_mcp`."""
    args = _parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", 0))

    if args.command in (None, "serve"):
        _serve(args)
    elif args.command == "emulator":
        _emulator(args)
    else:
        from .demo import run_demo

        sys.exit(anyio.run(run_demo))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replicas-mcp",
        description="MCP server for delegating coding work to Replicas agents. "
        "With no command, serves MCP over stdio.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    _add_verbosity(parser)
    # Bare `replicas-mcp` is what MCP hosts run: stdio against the real API.
    parser.set_defaults(
        transport="stdio",
        emulator=False,
        base_url=None,
        api_key=None,
        read_only=None,
        tools=None,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve MCP (stdio by default)")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port")
    serve.add_argument(
        "--emulator",
        action="store_true",
        help="start the built-in Replicas emulator and use it instead of the "
        "real service (no account needed)",
    )
    serve.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="offer no tool that creates, sends or deletes (REPLICAS_READ_ONLY)",
    )
    serve.add_argument(
        "--tools",
        help="offer only these tools, comma-separated (REPLICAS_TOOLS)",
    )
    serve.add_argument("--base-url", help="Replicas API URL (REPLICAS_BASE_URL)")
    serve.add_argument(
        "--api-key",
        help="Replicas API key (REPLICAS_API_KEY; prefer the variable, since "
        "flags show in process lists)",
    )
    _add_verbosity(serve)

    emulator = commands.add_parser("emulator", help="run only the local emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8765)
    emulator.add_argument(
        "--api-key", help="key the emulator accepts (default: a generated one)"
    )
    emulator.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not a loopback address",
    )
    emulator.add_argument(
        "--large-replicas",
        action="store_true",
        help="also seed replicas with a 3 MB diff, a 5,000-event history and a "
        "50,000-line hook log",
    )
    _add_verbosity(emulator)

    demo = commands.add_parser(
        "demo", help="delegate one task to an emulated agent, end to end"
    )
    _add_verbosity(demo)
    return parser


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="log more to stderr (-v info, -vv debug)",
    )


def _configure_logging(verbosity: int | None) -> None:
    # Before the MCP server exists: its own set-up then leaves ours alone.
    # Everything goes to stderr, since stdout carries the protocol over stdio.
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity or 0, logging.DEBUG)
    logging.basicConfig(
        stream=sys.stderr,
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx2 logs every request URL at INFO: noise unless debugging.
    quiet = logging.DEBUG if level == logging.DEBUG else logging.WARNING
    logging.getLogger("httpx2").setLevel(quiet)


def _serve(args: argparse.Namespace) -> None:
    flags = {
        "base_url": args.base_url,
        "api_key": args.api_key,
        "read_only": args.read_only,
        "tools": args.tools,
    }
    overrides = {name: value for name, value in flags.items() if value is not None}
    settings, problem = _load_settings(overrides)
    try:
        select_tools(settings)
    except ValueError as exc:
        _fail(str(exc))

    anyio.run(
        _serve_async,
        settings,
        problem,
        args.transport,
        getattr(args, "host", "127.0.0.1"),
        getattr(args, "port", 8000),
        args.emulator,
    )


def _load_settings(overrides: dict[str, Any]) -> tuple[Settings, str | None]:
    """Settings, and what is wrong with them if the API cannot be used.

    A bad key or URL does not stop the server: it starts, and every call says
    what to fix, which is where a host's user will see it. Settings that
    decide which tools exist must be right, though, so those still exit.
    """
    try:
        return Settings(**overrides), None
    except ValidationError as exc:
        problem = _settings_problem(exc)
        broken = {str(error["loc"][0]) for error in exc.errors()}

    if broken & {"read_only", "tools"}:
        _fail(problem)

    logger.error("%s; every tool call will report this", problem)
    defaults = {name: Settings.model_fields[name].default for name in broken}
    return Settings(**(overrides | defaults)), problem


async def _serve_async(
    settings: Settings,
    problem: str | None,
    transport: str,
    host: str,
    port: int,
    with_emulator: bool,
) -> None:
    async with AsyncExitStack() as stack:
        client = ReplicasClient.misconfigured(problem) if problem else None
        if with_emulator:
            # Imported here: the emulator (and its Starlette app) is optional
            # weight that a production server never loads.
            from .emulator import EmulatorConfig, EmulatorServer

            key = _generated_key()
            config = EmulatorConfig(api_keys={key: EMULATOR_ORG})
            emulator = await stack.enter_async_context(EmulatorServer(config))
            settings = settings.model_copy(
                update={"api_key": SecretStr(key), "base_url": emulator.base_url}
            )
            client = None
            logger.info("serving against the emulator at %s", emulator.base_url)
        elif settings.api_key is None and client is None:
            logger.warning(
                "REPLICAS_API_KEY is not set: every tool call will explain how to "
                "set it. Use --emulator to try the server without an account."
            )

        mcp = build_server(settings, client=client)
        if transport == "stdio":
            await mcp.run_stdio_async()
            return

        if host not in ("127.0.0.1", "localhost", "::1"):
            # TODO(#5): require a server token on non-loopback addresses.
            logger.warning("listening on %s: anyone who can reach it can use it", host)
        # Said on stderr whatever the log level: over HTTP a person started
        # this and needs the address.
        print(f"MCP endpoint: http://{host}:{port}/mcp", file=sys.stderr, flush=True)
        await mcp.run_streamable_http_async(host=host, port=port)


def _emulator(args: argparse.Namespace) -> None:
    from .emulator import EmulatorConfig, serve

    key = args.api_key or _generated_key()
    config = EmulatorConfig(
        api_keys={key: EMULATOR_ORG}, large_replicas=args.large_replicas
    )

    def ready(base_url: str) -> None:
        print(f"Replicas emulator on {base_url}; try it with:")
        print(f"  export REPLICAS_BASE_URL={base_url} REPLICAS_API_KEY={key}")
        sys.stdout.flush()

    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        _fail(
            f"--host {args.host} would expose the emulator beyond this machine; "
            "add --allow-remote if that is what you want"
        )

    serve(
        config,
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        on_ready=ready,
    )


def _generated_key() -> str:
    return f"sk_replicas_emulator_{secrets.token_hex(12)}"


def _settings_problem(exc: ValidationError) -> str:
    problems: list[str] = []
    for error in exc.errors():
        variable = f"REPLICAS_{str(error['loc'][0]).upper()}"
        message = error["msg"].removeprefix("Value error, ")
        if not message.startswith(variable):
            message = f"{variable}: {message}"
        problems.append(message)

    return "invalid configuration: " + "; ".join(problems)


def _fail(message: str) -> NoReturn:
    logger.error("%s", message)
    sys.exit(2)
