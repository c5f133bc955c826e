"""Carry out injected faults on the wire, as an ASGI middleware.

`FaultInjector.decide` says which fault a request gets; this module makes the
client see it: an error answer, an HTML page, a broken body, a reset
connection, an event stream cut short, or a write whose reply is lost.

ASGI has no way to drop a connection, so dropping reaches for uvicorn's
transport (its `receive` is a method of an object that holds it). Under
another server the middleware raises `ConnectionDropped` instead.
"""

import asyncio
import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import anyio
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError
from .faults import FaultInjector, FaultRule

logger = logging.getLogger(__name__)

# How long to wait for the server to notice a connection we closed ourselves.
_DISCONNECT_WAIT = 5.0

# A whole SSE frame whose data is half an envelope: the client's SSE parser
# hands it over, and only its JSON decoding fails.
_BROKEN_EVENT = b'data: {"id":"evt_\n\n'

Carry = Callable[[ASGIApp, FaultRule, Scope, Receive, Send], Awaitable[None]]


class ConnectionDropped(RuntimeError):
    """Raised to drop a connection when the server is not uvicorn."""


class FaultMiddleware:
    """Apply the injector's faults to matching HTTP requests.

    Sits outside authentication and routing, as a proxy would, so that faults
    hit any request, known route or not. Without rules it only forwards.
    """

    def __init__(self, app: ASGIApp, faults: FaultInjector) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request, or fail it the way its matching rule says."""
        if scope["type"] != "http" or not self.faults.enabled:
            await self.app(scope, receive, send)
            return

        decision = self.faults.decide(scope["method"], scope["path"])
        if decision is None:
            await self.app(scope, receive, send)
            return

        if decision.latency:
            await anyio.sleep(decision.latency)

        rule = decision.rule
        if rule is None:
            await self.app(scope, receive, send)
            return

        logger.info(
            "Injecting %s into %s %s", rule.spec, scope["method"], scope["path"]
        )
        await _CARRY[rule.kind](self.app, rule, scope, receive, send)


# The kinds


async def _status(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer an error in the contract's envelope; the app never sees it."""
    await _drain(receive)
    await _envelope(rule)(scope, receive, send)


async def _html(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer a proxy's HTML error page; the app never sees the request."""
    await _drain(receive)
    status = rule.status or 502
    await HTMLResponse(_error_page(status), status_code=status)(scope, receive, send)


async def _malformed(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    """Serve the request, then answer 200 with only half of its JSON body."""

    async def broken_stream(start: Message) -> None:
        await send({**start, "status": 200})
        await send({"type": "http.response.body", "body": _BROKEN_EVENT})

    captured = _Capture(broken_stream)
    await app(scope, receive, captured.send)
    if captured.stream:
        return

    body = bytes(captured.body[: len(captured.body) // 2]) or b"{"
    response = Response(body, status_code=200, media_type="application/json")
    await response(scope, receive, send)


async def _drop(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    """Reset the connection without an answer; the app never sees the request."""
    _reset(receive)
    await _wait_for_disconnect(receive)


async def _cut(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    """Serve the request, but close the connection after `events` events."""
    cutter = _Cutter(send, receive, rule.events)
    await app(scope, receive, cutter.send)
    if cutter.cut:
        await _wait_for_disconnect(receive)


async def _lose(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    """Serve the request in full, then lose its reply: reset, or an error."""

    async def lose_stream(start: Message) -> None:
        await lose_reply()

    async def lose_reply() -> None:
        if rule.status is None:
            _reset(receive)
        else:
            await _envelope(rule)(scope, receive, send)

    captured = _Capture(lose_stream)
    await app(scope, receive, captured.send)
    if not captured.stream:
        await lose_reply()
    if rule.status is None:
        await _wait_for_disconnect(receive)


async def _latency(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    """Nothing but the wait, which the middleware already took."""
    await app(scope, receive, send)


_CARRY: dict[str, Carry] = {
    "latency": _latency,
    "status": _status,
    "html": _html,
    "malformed": _malformed,
    "drop": _drop,
    "cut": _cut,
    "lose": _lose,
}


# Responses


def _envelope(rule: FaultRule) -> Response:
    status = rule.status or 500
    details = f"Injected by the Replicas emulator ({rule.spec})"
    body = ApiError(status, _phrase(status), details).body()
    headers: dict[str, str] = {}
    if rule.retry_after is not None:
        headers["retry-after"] = str(rule.retry_after)
    return JSONResponse(body, status_code=status, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _error_page(status: int) -> str:
    title = f"{status} {_phrase(status)}"
    return (
        "<!DOCTYPE html>\n"
        f"<html><head><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1>\n"
        "<p>The gateway could not get an answer from the application.</p>\n"
        "<hr><address>replicas-emulator fault injection</address></body></html>\n"
    )


# Connections


def _transport(receive: Receive) -> asyncio.Transport:
    # uvicorn's receive is a bound method of its request cycle, which holds
    # the connection's transport; plain ASGI cannot close a connection.
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise ConnectionDropped("Fault injection dropped the connection")
    return transport


def _reset(receive: Receive) -> None:
    """Close the connection with a TCP reset, dropping anything unsent."""
    transport = _transport(receive)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0 turns the close into a reset, as a crashed proxy's would be.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _close(receive: Receive) -> None:
    """Close the connection after what was written has gone out."""
    _transport(receive).close()


async def _wait_for_disconnect(receive: Receive) -> None:
    # Returning before the server saw the close would make it log a response
    # that never started; the request body may still be queued before it.
    with anyio.move_on_after(_DISCONNECT_WAIT):
        while (await receive())["type"] != "http.disconnect":
            pass


async def _drain(receive: Receive) -> None:
    """Read the request body, so the connection can serve the next request."""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return
        more = bool(message.get("more_body", False))


def _is_event_stream(start: Message) -> bool:
    for name, value in start.get("headers", []):
        if name.lower() == b"content-type":
            return bytes(value).startswith(b"text/event-stream")
    return False


def _frames(body: bytes) -> int:
    """Count the events (not the pings) in a chunk of an event stream."""
    return sum(1 for line in body.split(b"\n") if line.startswith(b"data:"))


class _Capture:
    """Keep a response instead of sending it, unless it is an event stream.

    A stream never ends by itself, so at its start `on_stream` decides what
    the client gets; the app's later messages are dropped.
    """

    def __init__(self, on_stream: Callable[[Message], Awaitable[None]]) -> None:
        self.body = bytearray()
        self.stream = False
        self._on_stream = on_stream

    async def send(self, message: Message) -> None:
        """Take one ASGI message from the app."""
        if message["type"] == "http.response.start" and _is_event_stream(message):
            self.stream = True
            await self._on_stream(message)
        elif message["type"] == "http.response.body" and not self.stream:
            self.body += message.get("body", b"")


class _Cutter:
    """Forward a response until `events` events went out, then close.

    A response that is not an event stream is cut right after its headers.
    After the cut the app's messages go nowhere; a stream ends once it sees
    the disconnect.
    """

    def __init__(self, send: Send, receive: Receive, events: int) -> None:
        self.cut = False
        self._send = send
        self._receive = receive
        self._events = events
        self._sent = 0
        self._stream = False

    async def send(self, message: Message) -> None:
        """Forward one ASGI message, or cut the connection instead."""
        if self.cut:
            return

        if message["type"] == "http.response.start":
            await self._send(message)
            self._stream = _is_event_stream(message)
            if self._stream and self._events == 0:
                self._cut_now()
            return

        if not self._stream:
            self._cut_now()
            return

        await self._send(message)
        self._sent += _frames(message.get("body", b""))
        if self._sent >= self._events:
            self._cut_now()

    def _cut_now(self) -> None:
        self.cut = True
        _close(self._receive)
