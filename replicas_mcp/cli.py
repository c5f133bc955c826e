"""The `replicas-mcp` command: serve, run the emulator, or show a demo."""

import argparse
import logging
import secrets
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
from pydantic import SecretStr, ValidationError

from ._version import __version__
from .api import ReplicasClient
from .config import HTTPSettings, Settings, settings_problems
from .server import ReplicasServer, build_server, select_tools
from .startup import resume_collector
from .stdio import claim_stdout, serve_stdio

if TYPE_CHECKING:
    # Imported when serving HTTP: uvicorn is weight a stdio server never needs.
    from .server.http_transport import HTTPOptions

logger = logging.getLogger(__name__)

EMULATOR_ORG = "acme"


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script and of `python -m replicas_mcp`."""
    args = _parser().parse_args(argv)
    if args.command in (None, "serve") and args.transport == "stdio":
        claim_stdout()
    _configure_logging(getattr(args, "verbose", 0))

    if args.command in (None, "serve"):
        _serve(args)
        return

    # Only serving is in a hurry to start.
    resume_collector()
    if args.command == "emulator":
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
        multi_tenant=None,
        workers=1,
        stateless=None,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve MCP (stdio by default)")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument(
        "--host", help="HTTP bind address (REPLICAS_MCP_HOST; default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="HTTP port (0: any free one)"
    )
    serve.add_argument(
        "--stateless",
        action="store_true",
        default=None,
        help="serve every HTTP request on its own, without sessions, so any "
        "worker can answer it; 2025-11-25 resources/subscribe is then refused "
        "(REPLICAS_MCP_STATELESS)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="HTTP worker processes on one port (default 1); more than one "
        "needs --stateless and a Replicas API other than --emulator. Under "
        "uvicorn or gunicorn, serve replicas_mcp.server.asgi:create_app "
        "(a factory configured by the variables) instead",
    )
    serve.add_argument(
        "--auth-token",
        help="token every HTTP request must carry; required off loopback "
        "(REPLICAS_MCP_AUTH_TOKEN; prefer the variable)",
    )
    serve.add_argument(
        "--allowed-hosts",
        help="Host header names the HTTP server answers to, comma-separated "
        "(REPLICAS_MCP_ALLOWED_HOSTS)",
    )
    serve.add_argument(
        "--allowed-origins",
        help="browser origins allowed to call it, comma-separated "
        "(REPLICAS_MCP_ALLOWED_ORIGINS)",
    )
    serve.add_argument(
        "--multi-tenant",
        action="store_true",
        default=None,
        help="over HTTP, act with each request's own Replicas key "
        "(Authorization: Bearer) instead of one configured key "
        "(REPLICAS_MULTI_TENANT)",
    )
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

    # The spec syntax is documented here and in emulator/FIDELITY.md.
    fault_help = """\
fault injection (--fault SPEC, repeatable; rules are checked in order):
  SPEC is TARGET[:OPTION]... with TARGET one of '*', '/path' or 'METHOD /path'.
  In paths * is one segment ({id} too), ** any run of segments.
  What happens (one per rule; latency=S may come with any of them or alone):
    status=CODE        error CODE (400-599) in the API's JSON error envelope;
                       add retry_after=S for a Retry-After header
    html[=CODE]        a proxy's HTML error page (default 502)
    malformed          serve the request, answer 200 with half of its JSON
    drop               reset the connection without any answer
    cut=N              close the connection after N server-sent events
    lose[=CODE]        serve the request in full (a write commits), then reset
                       the connection, or answer CODE
    latency=S          wait S seconds first
  Which matching calls: after=N (skip N), times=M (then stop), every=K,
  rate=P (probability, drawn from --fault-seed or seed=N).
  Examples:
    --fault 'POST /v1/replica:status=503:times=2'
    --fault 'GET /v1/replica/*:latency=2.5'
    --fault '*:rate=0.1:status=500' --fault-seed 7
    --fault 'POST /v1/replica/{id}/messages:lose:every=3'
    --fault 'GET /v1/replica/*/events:cut=5'
"""
    emulator = commands.add_parser(
        "emulator",
        help="run only the local emulator",
        description="Serve the Replicas API emulator on a loopback port.",
        epilog=fault_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8765)
    emulator.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY[=ORG]",
        help="a key the emulator accepts, optionally with its organisation's name; "
        "repeat for several organisations (default: one generated key)",
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
    emulator.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault into matching requests (repeatable; see below)",
    )
    emulator.add_argument(
        "--fault-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the rate=P draws of faults without seed=N (default 0)",
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
        "multi_tenant": args.multi_tenant,
    }
    overrides = {name: value for name, value in flags.items() if value is not None}
    settings, problem = _load_settings(overrides)
    if settings.multi_tenant:
        settings, problem = _multi_tenant_settings(args, settings, overrides), None
    elif problem is not None and args.workers == 1:
        logger.error("%s; every tool call will report this", problem)

    try:
        select_tools(settings)
    except ValueError as exc:
        _fail(str(exc))

    misplaced = _http_only_flags(args) if args.transport == "stdio" else []
    if misplaced:
        verb = "apply" if len(misplaced) > 1 else "applies"
        _fail(
            f"{' and '.join(misplaced)} {verb} only to --transport http; "
            "over stdio there is one client and one process"
        )

    http = _http_options(args) if args.transport == "http" else None
    if http is not None and args.workers > 1:
        # Worker processes build their own servers; this one only supervises.
        from .server.asgi import serve_workers

        resume_collector()
        if problem is not None:
            _fail(f"{problem}; {args.workers} workers cannot start with it")
        if settings.api_key is None and not settings.multi_tenant:
            logger.warning(
                "REPLICAS_API_KEY is not set: every tool call will explain how "
                "to set it"
            )
        logger.info("serving statelessly with %d worker processes", args.workers)
        try:
            serve_workers(
                settings,
                http,
                args.workers,
                # As in one process: a person started this and needs the address.
                announce=lambda url: print(
                    f"MCP endpoint: {url}", file=sys.stderr, flush=True
                ),
                log_level=logging.getLogger().level,
            )
        except OSError as exc:
            _fail(f"cannot listen on {http.host}:{http.port}: {exc.strerror or exc}")
        return

    try:
        anyio.run(_serve_async, settings, problem, http, args.emulator)
    except KeyboardInterrupt:
        # Over HTTP, uvicorn shuts down gracefully on Ctrl+C and then raises
        # the signal again; the person who pressed it needs no traceback.
        if http is None:
            raise


def _http_only_flags(args: argparse.Namespace) -> list[str]:
    """The HTTP-only flags given on the command line."""
    given = {
        "--workers": args.workers != 1,
        "--stateless": args.stateless is not None,
    }
    return [flag for flag, used in given.items() if used]


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

    if broken & {"read_only", "tools", "multi_tenant"}:
        _fail(problem)

    defaults = {name: Settings.model_fields[name].default for name in broken}
    return Settings(**(overrides | defaults)), problem


def _multi_tenant_settings(
    args: argparse.Namespace, settings: Settings, overrides: dict[str, Any]
) -> Settings:
    """Settings of a multi-tenant server, or exit saying why it cannot be one."""
    if args.transport != "http":
        _fail(
            "multi-tenant mode (--multi-tenant, REPLICAS_MULTI_TENANT) needs "
            "--transport http: only HTTP requests carry a key of their own"
        )

    if args.emulator:
        _fail(
            "--emulator cannot be multi-tenant: its one key is generated at start "
            "and no client knows it"
        )

    if settings.api_key is not None or args.api_key is not None:
        # Falling back to it would hand this key to anyone who sends none.
        logger.warning(
            "REPLICAS_API_KEY (--api-key) is ignored in multi-tenant mode: each "
            "request acts with its own key, and one without a key is refused"
        )

    # Nobody to tell per call what is wrong with a shared setting: exit now.
    settings, problem = _load_settings(overrides | {"api_key": None})
    if problem is not None:
        _fail(problem)

    return settings


def _http_options(args: argparse.Namespace) -> "HTTPOptions":
    """How to listen and guard the HTTP endpoint, or exit saying what is unsafe."""
    from .server.asgi import workers_refusal
    from .server.http_transport import HTTPOptions, refusal

    flags = {
        "auth_token": args.auth_token,
        "allowed_hosts": args.allowed_hosts,
        "allowed_origins": args.allowed_origins,
        "host": args.host,
        "stateless": args.stateless,
    }
    try:
        http = HTTPSettings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        _fail(_settings_problem(exc))

    options = HTTPOptions.from_settings(http, port=args.port)
    refused = refusal(options) or workers_refusal(args.workers, options, args.emulator)
    if refused is not None:
        _fail(refused)

    return options


async def _serve_async(
    settings: Settings,
    problem: str | None,
    http: "HTTPOptions | None",
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
        elif settings.api_key is None and client is None and not settings.multi_tenant:
            logger.warning(
                "REPLICAS_API_KEY is not set: every tool call will explain how to "
                "set it. Use --emulator to try the server without an account."
            )

        mcp = build_server(settings, client=client)
        resume_collector()
        if http is None:
            await serve_stdio(mcp)
            return

        await _serve_http(mcp, http)


async def _serve_http(mcp: ReplicasServer, options: "HTTPOptions") -> None:
    from .server.http_transport import HTTPService

    service = HTTPService(mcp, options)
    try:
        url = service.listen()
    except OSError as exc:
        _fail(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}")

    if mcp.multi_tenant:
        logger.info("multi-tenant: each request acts with its own Replicas key")
    # Said on stderr whatever the log level: over HTTP a person started
    # this and needs the address.
    print(f"MCP endpoint: {url}", file=sys.stderr, flush=True)
    await service.serve()


def _emulator(args: argparse.Namespace) -> None:
    from .emulator import EmulatorConfig, FaultSpecError, parse_fault, serve

    try:
        faults = tuple(parse_fault(spec) for spec in args.fault)
    except FaultSpecError as exc:
        _fail(f"--fault: {exc}")

    keys = _organisations(args.api_key) or {_generated_key(): EMULATOR_ORG}
    key = next(iter(keys))
    config = EmulatorConfig(
        api_keys=keys,
        large_replicas=args.large_replicas,
        faults=faults,
        fault_seed=args.fault_seed,
    )

    def ready(base_url: str) -> None:
        print(f"Replicas emulator on {base_url}; try it with:")
        print(f"  export REPLICAS_BASE_URL={base_url} REPLICAS_API_KEY={key}")
        for other, organisation in list(keys.items())[1:]:
            print(f"  (also key {other} for organisation {organisation})")
        for rule in faults:
            print(f"  injecting fault {rule.spec}")
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


def _organisations(specs: list[str]) -> dict[str, str]:
    """`KEY` or `KEY=ORG` flags as key -> organisation; bare keys share one."""
    keys: dict[str, str] = {}
    for spec in specs:
        key, _, organisation = spec.partition("=")
        keys[key.strip()] = organisation.strip() or EMULATOR_ORG

    return keys


def _generated_key() -> str:
    return f"sk_replicas_emulator_{secrets.token_hex(12)}"


def _settings_problem(exc: ValidationError) -> str:
    return f"invalid configuration: {settings_problems(exc)}"


def _fail(message: str) -> NoReturn:
    logger.error("%s", message)
    sys.exit(2)
