"""The MCP endpoint over streamable HTTP, guarded for use beyond one person.

Three guards stand in front of the SDK's transport:

* **Host and Origin checks** (the SDK's `TransportSecuritySettings`) on every
  binding, so a web page cannot reach the server by DNS rebinding. The SDK
  turns them off for any non-loopback host unless it is given settings, so
  settings are always given: loopback names for a loopback bind, otherwise
  the bind address and the `--allowed-hosts` list.
* **A server token** (`--auth-token`), compared in constant time, that every
  HTTP request must carry; required on a non-loopback bind. Single-tenant, it
  is the bearer credential: `Authorization: Bearer <token>`. Multi-tenant,
  `Authorization` carries each user's own Replicas key, so the token travels
  in `X-Replicas-MCP-Token`. It stays required there too: a Replicas key proves
  an account exists, not that its holder belongs to the team this deployment
  serves, and without the token anyone who can reach the port could make the
  server spend connections and send made-up keys to the Replicas API.
* **Sessions bound to their tenant** in multi-tenant mode: the request's key
  (as a fingerprint) becomes the SDK's authenticated user, and the SDK then
  answers 404 to any request that uses a session with another key.

Stateless (`--stateless`), every request is served on its own, so any of
several worker processes can answer it. What needs a 2025-11-25 session, a
`resources/subscribe` whose updates would arrive on the session's GET stream,
is then refused with the reason instead of being accepted and never heard of.

The SDK's own `token_verifier` does not fit: it is built for an OAuth resource
server (it needs an issuer URL and advertises protected-resource metadata
that would send clients looking for an authorization server that does not
exist), and it reads only `Authorization`, which multi-tenant mode needs for
the Replicas key.
"""

import hmac
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any

import uvicorn
from mcp import MCPError
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import INVALID_REQUEST
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import HTTPSettings
from .app import ReplicasServer
from .tenants import bearer, key_fingerprint

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
TOKEN_HEADER = "X-Replicas-MCP-Token"
REALM = "replicas-mcp"

LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")

# Streams to clients that never hang up must not keep a stopping server alive.
GRACEFUL_SHUTDOWN_SECONDS = 5

# 2025-11-25 methods whose effect outlives the request: a stateless request's
# connection ends with its response, and with it any subscription it made.
SESSION_METHODS = ("resources/subscribe", "resources/unsubscribe")
NEEDS_SESSION = (
    "{method} needs a session, and this server is stateless (--stateless, "
    "REPLICAS_MCP_STATELESS), so every request stands alone: a subscription "
    "would end with this request and no update could reach you. Use "
    "subscriptions/listen (protocol 2026-07-28), which carries its updates on "
    "its own response, or run the server stateful: one process, or several "
    "behind a load balancer with sticky sessions keyed on the Mcp-Session-Id "
    "header."
)


@dataclass(frozen=True)
class HTTPOptions:
    """Where to listen and how to guard the endpoint."""

    host: str = "127.0.0.1"
    port: int = 8000
    auth_token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    stateless: bool = False

    @classmethod
    def from_settings(cls, http: HTTPSettings, *, port: int = 8000) -> "HTTPOptions":
        token = http.auth_token.get_secret_value() if http.auth_token else None
        return cls(
            host=http.host,
            port=port,
            auth_token=token,
            allowed_hosts=http.allowed_hosts,
            allowed_origins=http.allowed_origins,
            stateless=http.stateless,
        )


def refusal(options: HTTPOptions) -> str | None:
    """Why the server must not start with these options, or None."""
    if not is_loopback(options.host) and options.auth_token is None:
        return (
            f"--host {options.host} is reachable from other machines, so the server "
            "needs a token: set REPLICAS_MCP_AUTH_TOKEN (or --auth-token) and give "
            "it to your MCP clients"
        )

    if is_wildcard(options.host) and not options.allowed_hosts:
        return (
            f"--host {options.host} listens on every interface, so the server "
            "cannot tell which Host headers are its own: name them with "
            "REPLICAS_MCP_ALLOWED_HOSTS (or --allowed-hosts), e.g. "
            "mcp.example.com,10.0.0.5"
        )

    return None


def security_settings(options: HTTPOptions) -> TransportSecuritySettings:
    """The Host and Origin allow-lists for a binding; never switched off."""
    hosts = [pattern for name in options.allowed_hosts for pattern in _host(name)]
    origins = list(options.allowed_origins)
    if is_loopback(options.host) or is_wildcard(options.host):
        # Loopback names are never what a rebinding page sends, so they are
        # safe wherever the server listens on loopback.
        hosts = [*LOOPBACK_HOSTS, *hosts]
        origins = [*LOOPBACK_ORIGINS, *origins]
    if not is_wildcard(options.host):
        hosts += _host(options.host)

    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


def http_app(server: ReplicasServer, options: HTTPOptions) -> ASGIApp:
    """The server's streamable HTTP app at `/mcp`, behind the guards."""
    if options.stateless:
        refuse_session_methods(server)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=security_settings(options),
        host=options.host,
        stateless_http=options.stateless,
    )
    return Gate(app, token=options.auth_token, multi_tenant=server.multi_tenant)


def refuse_session_methods(server: ReplicasServer) -> None:
    """Make `server` refuse what only a session can serve, saying why.

    The handlers go, so 2025 clients are not told `subscribe: true`; the
    middleware answers a client that subscribes anyway with the reason
    rather than "method not found".
    """
    lowlevel = server._lowlevel_server  # pyright: ignore[reportPrivateUsage]
    for method in SESSION_METHODS:
        lowlevel._request_handlers.pop(method, None)  # pyright: ignore[reportPrivateUsage]

    async def refuse(
        ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method in SESSION_METHODS and ctx.request_id is not None:
            raise MCPError(INVALID_REQUEST, NEEDS_SESSION.format(method=ctx.method))

        return await call_next(ctx)

    lowlevel.middleware.append(refuse)


UNGUARDED = (
    "This MCP server has no token, so it serves only requests that arrive on "
    "a loopback address. Set REPLICAS_MCP_AUTH_TOKEN, and REPLICAS_MCP_HOST to "
    "the address the server binds.\n"
)


class Gate:
    """Refuse requests without the server token; bind sessions to tenants."""

    def __init__(self, app: ASGIApp, *, token: str | None, multi_tenant: bool) -> None:
        self._app = app
        self._token = token.encode() if token is not None else None
        self._multi_tenant = multi_tenant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        if self._token is None and not _arrived_on_loopback(scope):
            # `refusal` keeps the CLI from this, but a factory under plain
            # uvicorn only knows its bind address if REPLICAS_MCP_HOST says it.
            logger.warning(
                "refused a request that arrived on %s: without a server token "
                "(REPLICAS_MCP_AUTH_TOKEN) only loopback is served",
                scope.get("server"),
            )
            await PlainTextResponse(UNGUARDED, status_code=403)(scope, receive, send)
            return

        headers = Headers(scope=scope)
        presented = self._presented(headers)
        if self._token is not None and not _same(presented, self._token):
            wrong = presented is not None
            # Who knocked, never with what.
            logger.info(
                "refused a request from %s: %s server token",
                scope.get("client"),
                "wrong" if wrong else "no",
            )
            await self._refuse(wrong)(scope, receive, send)
            return

        if self._multi_tenant:
            scope = self._as_tenant(scope, headers)

        await self._app(scope, receive, send)

    def _presented(self, headers: Headers) -> str | None:
        if self._multi_tenant:
            return headers.get(TOKEN_HEADER)

        return bearer(headers.get("authorization"))

    def _refuse(self, wrong: bool) -> PlainTextResponse:
        # Neither the expected nor the presented token appears in the answer.
        where = (
            f"the {TOKEN_HEADER} header"
            if self._multi_tenant
            else "the header Authorization: Bearer <token>"
        )
        scheme = TOKEN_HEADER if self._multi_tenant else "Bearer"
        challenge = f'{scheme} realm="{REALM}"'
        if wrong:
            challenge += ', error="invalid_token"'
        state = "a wrong one" if wrong else "none"
        text = (
            f"This MCP server needs its token in {where}; this request had {state}.\n"
        )
        return PlainTextResponse(
            text, status_code=401, headers={"WWW-Authenticate": challenge}
        )

    def _as_tenant(self, scope: Scope, headers: Headers) -> Scope:
        """The request as its tenant's, so the SDK keeps sessions to one tenant."""
        key = bearer(headers.get("authorization"))
        if key is None:
            return scope

        # A fingerprint, never the key: the SDK stores and compares this.
        fingerprint = key_fingerprint(key)
        token = AccessToken(token=fingerprint, client_id=fingerprint, scopes=[])
        return {**scope, "user": AuthenticatedUser(token)}


class HTTPService:
    """Listen on a port and serve the guarded endpoint until stopped."""

    def __init__(self, server: ReplicasServer, options: HTTPOptions) -> None:
        self._options = options
        config = uvicorn.Config(
            http_app(server, options),
            host=options.host,
            port=options.port,
            # Logging is the CLI's, configured before the server exists.
            log_config=None,
            lifespan="on",
            ws="none",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        self._uvicorn = uvicorn.Server(config)
        self._socket: socket.socket | None = None

    def listen(self) -> str:
        """Bind the port (0 picks a free one) and return the endpoint's URL.

        Connections that arrive before `serve` runs wait in the backlog.
        """
        self._socket, url = bind(self._options)
        return url

    async def serve(self) -> None:
        """Serve until `stop` (or a signal, when run on the main thread)."""
        if self._socket is None:
            self.listen()

        assert self._socket is not None
        await self._uvicorn.serve(sockets=[self._socket])

    def stop(self) -> None:
        self._uvicorn.should_exit = True


def bind(options: HTTPOptions) -> tuple[socket.socket, str]:
    """A listening socket on the options' address, and the endpoint's URL."""
    host = options.host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    bound = socket.create_server((host, options.port), family=family)
    port = bound.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return bound, f"http://{shown}:{port}{MCP_PATH}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True

    address = _address(host)
    return address is not None and address.is_loopback


def is_wildcard(host: str) -> bool:
    address = _address(host)
    return host == "" or (address is not None and address.is_unspecified)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _host(name: str) -> list[str]:
    """Host header patterns for a name: as given with a port, else any port.

    A bare name also matches without a port, as clients send it for ports 80
    and 443, e.g. behind a proxy.
    """
    name = name.strip()
    address = _address(name)
    if address is not None and address.version == 6:
        name = f"[{address.compressed}]"
    # Whatever follows an IPv6 literal's bracket holds the port, if any.
    has_port = ":" in name.rpartition("]")[2]
    return [name] if has_port else [name, f"{name}:*"]


def _arrived_on_loopback(scope: Scope) -> bool:
    """Whether the connection's local end is loopback (a Unix socket counts)."""
    server = scope.get("server")
    return server is None or server[1] is None or is_loopback(str(server[0]))


def _same(presented: str | None, expected: bytes) -> bool:
    """Compare in constant time, so timing does not leak the token's prefix."""
    if presented is None:
        return False

    return hmac.compare_digest(presented.encode(), expected)
