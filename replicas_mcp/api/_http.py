"""The one place that talks HTTP: a shared connection pool and error mapping."""

import functools
import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx2

from .._version import __version__
from ..config import key_problem
from ..errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    ConfigurationError,
    MissingAPIKeyError,
    status_error_class,
)
from ._retry import (
    DEFAULT_RETRIES,
    RetryPolicy,
    attempts,
    read_failure_is_transient,
    write_never_left,
)

logger = logging.getLogger(__name__)

API_VERSION = "2026-05-17"

# The event stream sends a keep-alive every 15 s; a minute of silence means
# the connection is dead even if no socket error says so.
STREAM_READ_TIMEOUT = 60.0

Params = Mapping[str, str | int | bool | None]


class HTTPTransport:
    """Send requests to the Replicas API and turn failures into `ReplicasError`s.

    The underlying `httpx2.AsyncClient` is built on first use: setting up TLS
    costs tens of milliseconds that a stdio server should not spend before it
    has answered `initialize`. A client passed in is used as it is; only the
    headers and timeouts of each request are ours.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float,
        connect_timeout: float,
        http_client: httpx2.AsyncClient | None = None,
        problem: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRIES,
    ) -> None:
        self.base_url = base_url
        self._retry = retry
        self._api_key = api_key
        self._problem = problem
        self._timeout = httpx2.Timeout(timeout, connect=connect_timeout)
        self._stream_timeout = httpx2.Timeout(
            timeout, connect=connect_timeout, read=STREAM_READ_TIMEOUT
        )
        self._client = http_client
        self._owns_client = http_client is None
        self._headers = {
            "X-Replicas-Api-Version": API_VERSION,
            "User-Agent": f"replicas-mcp/{__version__}",
        }

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
    ) -> Any:
        """Send a request, retrying as `RetryPolicy` allows; return its JSON body."""
        transient = read_failure_is_transient if method == "GET" else write_never_left
        async for attempt in attempts(self._retry, transient):
            with attempt:
                return await self._send(method, path, params=params, json=json)

        raise AssertionError("stamina either returns or raises")  # pragma: no cover

    async def _send(
        self, method: str, path: str, *, params: Params | None, json: Any
    ) -> Any:
        client, headers = self._prepare()

        try:
            response = await client.request(
                method,
                _url(self.base_url, path, _query(params)),
                json=json,
                headers=headers,
                timeout=self._timeout,
            )
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            raise self._failure(exc, method, path) from exc

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
        client, headers = self._prepare()

        try:
            async with client.sse(
                _url(self.base_url, path, ()),
                headers=headers,
                timeout=self._stream_timeout,
            ) as source:
                response = source.response
                if response.status_code >= 400:
                    await response.aread()
                    _raise_for_status(response, "GET", path)

                yield source
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            raise self._failure(exc, "GET", path) from exc

    def _prepare(self) -> tuple[httpx2.AsyncClient, dict[str, str]]:
        if self._problem is not None:
            raise ConfigurationError(self._problem)

        if self._api_key is None:
            raise MissingAPIKeyError()

        problem = key_problem(self._api_key)
        if problem is not None:
            raise ConfigurationError(problem)

        if self._client is None:
            self._client = httpx2.AsyncClient(base_url=self.base_url)

        headers = self._headers | {"Authorization": f"Bearer {self._api_key}"}
        return self._client, headers

    def _failure(
        self, exc: httpx2.HTTPError | httpx2.InvalidURL, method: str, path: str
    ) -> Exception:
        """Our error for an httpx2 one, with any trace of the key scrubbed."""
        if isinstance(exc, httpx2.TimeoutException):
            msg = f"the Replicas API at {self.base_url} did not answer in time"
            # Without a connection the request never left.
            sent = not isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout)
            return APITimeoutError(msg, method=method, path=path, sent=sent)

        bad_setting = (httpx2.InvalidURL, httpx2.UnsupportedProtocol)
        if isinstance(exc, (*bad_setting, httpx2.LocalProtocolError)):
            msg = (
                f"REPLICAS_BASE_URL ({self.base_url}) or REPLICAS_API_KEY cannot be "
                f"used for a request: {self._scrubbed(exc)}"
            )
            return ConfigurationError(msg)

        reason = self._scrubbed(exc)
        msg = f"could not reach the Replicas API at {self.base_url}: {reason}"
        unsent = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
        return APIConnectionError(
            msg, method=method, path=path, sent=not isinstance(exc, unsent)
        )

    def _scrubbed(self, exc: Exception) -> str:
        text = str(exc) or type(exc).__name__
        if self._api_key:
            text = text.replace(self._api_key, "***")

        return text


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


Query = tuple[tuple[str, str | int | bool], ...]


def _query(params: Params | None) -> Query:
    """The parameters that are set, in a form that can key a cache."""
    if params is None:
        return ()

    return tuple((key, value) for key, value in params.items() if value is not None)


@functools.lru_cache(maxsize=1024)
def _url(base_url: str, path: str, query: Query) -> httpx2.URL:
    """The absolute URL of a request, parsed once.

    Given a relative path and a query, httpx2 parses URLs three times per
    request, which costs more than the rest of building it; the same URLs
    come back again and again (a replica polled, a history paged), so their
    parsed form is kept.
    """
    return httpx2.URL(base_url + path, params=query or None)
