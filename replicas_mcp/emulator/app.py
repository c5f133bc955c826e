"""The emulator's Starlette application."""

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import EmulatorConfig
from .errors import ApiError
from .fault_middleware import FaultMiddleware
from .routes import ORGANIZATION_SCOPE_KEY, Handlers
from .state import EmulatorState

_UNAUTHORIZED = ApiError(401, "Unauthorized")


class BearerAuth:
    """Map `Authorization: Bearer <key>` to an organisation, or answer 401 (A19)."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the key on every HTTP request, known route or not."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        organization = self.state.organization_for_key(_bearer_key(scope))
        if organization is None:
            response = JSONResponse(_UNAUTHORIZED.body(), status_code=401)
            await response(scope, receive, send)
            return

        scope[ORGANIZATION_SCOPE_KEY] = organization
        await self.app(scope, receive, send)


def _bearer_key(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            return key.strip() if scheme.lower() == "bearer" else ""
    return ""


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = ApiError(404, "Not found", f"No route for {request.url.path}").body()
    else:
        body = ApiError(exc.status_code, exc.detail).body()
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    body = ApiError(500, "Internal server error", type(exc).__name__).body()
    return JSONResponse(body, status_code=500)


def build_app(config: EmulatorConfig | None = None) -> Starlette:
    """Build the emulator app; its state is `app.state.emulator`.

    Replicas need the app's lifespan to run (their timers and turns are tasks
    in it), so serve the app with a server that runs lifespans, such as
    `EmulatorServer`.
    """
    state = EmulatorState(config or EmulatorConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncGenerator[None, None]:
        async with state.running():
            yield

    app = Starlette(
        routes=Handlers(state).routes(),
        # Faults come first, as from a proxy in front of the service.
        middleware=[
            Middleware(FaultMiddleware, faults=state.faults),
            Middleware(BearerAuth, state=state),
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.emulator = state
    return app
