"""The one place that talks HTTP: a shared connection pool and error mapping."""

import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx2

from .._version import __version__
from ..errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    MissingAPIKeyError,
    status_error_class,
)

logger = logging.getLogger(__name__)

API_VERSION = "2026-05-17"

# The SSE stream stays open for as long as the replica lives; only the connect
# phase is bounded, and the reader watches heartbeats instead.
_STREAM_READ_TIMEOUT = None

Params = Mapping[str, str | int | bool | None]


class HTTPTransport:
    """Send requests to the Replicas API and turn failures into `ReplicasError`s.

    The underlying `httpx2.AsyncClient` is built on first use: setting up TLS
    costs tens of milliseconds that a stdio server should not spend before it
    has answered `initialize`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float,
        connect_timeout: float,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self._timeout = httpx2.Timeout(timeout, connect=connect_timeout)
        self._client = http_client
        self._owns_client = http_client is None

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON body."""
        client = self._get_client()

        try:
            response = await client.request(
                method,
                path,
                params=_drop_none(params),
                json=json,
                headers=headers,
            )
        except httpx2.TimeoutException as exc:
            msg = f"the Replicas API at {self.base_url} did not answer in time"
            raise APITimeoutError(msg, method=method, path=path) from exc
        except httpx2.TransportError as exc:
            msg = f"could not reach the Replicas API at {self.base_url}: {_reason(exc)}"
            raise APIConnectionError(msg, method=method, path=path) from exc

        logger.debug("%s %s -> %s", method, path, response.status_code)
        _raise_for_status(response, method, path)

        try:
            return response.json()
        except ValueError as exc:
            msg = f"the Replicas API sent a body that is not JSON for {method} {path}"
            raise APIResponseError(msg, method=method, path=path) from exc

    @asynccontextmanager
    async def stream_events(self, path: str) -> AsyncGenerator[httpx2.EventSource]:
        """Open a server-sent event stream; the caller iterates the events."""
        client = self._get_client()
        timeout = httpx2.Timeout(
            self._timeout.connect,
            connect=self._timeout.connect,
            read=_STREAM_READ_TIMEOUT,
        )

        try:
            async with client.sse(path, timeout=timeout) as source:
                response = source.response
                if response.status_code >= 400:
                    await response.aread()
                    _raise_for_status(response, "GET", path)

                yield source
        except httpx2.TimeoutException as exc:
            msg = f"the Replicas API at {self.base_url} did not open the event stream"
            raise APITimeoutError(msg, method="GET", path=path) from exc
        except httpx2.TransportError as exc:
            msg = f"the event stream from {self.base_url} broke: {_reason(exc)}"
            raise APIConnectionError(msg, method="GET", path=path) from exc

    def _get_client(self) -> httpx2.AsyncClient:
        if self._api_key is None:
            raise MissingAPIKeyError()

        if self._client is None:
            self._client = httpx2.AsyncClient(base_url=self.base_url)

        # Headers are set per client so a caller-supplied client gets them too.
        self._client.headers.update(
            {
                "Authorization": f"Bearer {self._api_key}",
                "X-Replicas-Api-Version": API_VERSION,
                "User-Agent": f"replicas-mcp/{__version__}",
            }
        )
        self._client.timeout = self._timeout
        return self._client


def _raise_for_status(response: httpx2.Response, method: str, path: str) -> None:
    if response.is_success:
        return

    error, details = _error_envelope(response)
    cls = status_error_class(response.status_code)
    raise cls(
        status_code=response.status_code,
        error=error,
        details=details,
        method=method,
        path=path,
        retry_after=_retry_after(response),
    )


def _error_envelope(response: httpx2.Response) -> tuple[str, str | None]:
    """Read `{error, details}`; anything else becomes a short generic reason."""
    try:
        body = response.json()
    except ValueError:
        body = None

    if isinstance(body, dict):
        envelope = cast(dict[str, Any], body)
        error, details = envelope.get("error"), envelope.get("details")
        if isinstance(error, str) and error.strip():
            details = _one_line(details) if isinstance(details, str) else None
            return _one_line(error), details

    # An HTML error page or a proxy's text is noise to a model; the status
    # line says enough.
    return response.reason_phrase or "error", None


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _drop_none(params: Params | None) -> dict[str, str | int | bool] | None:
    if params is None:
        return None

    return {key: value for key, value in params.items() if value is not None}
