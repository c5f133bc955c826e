"""Server-sent events: per-replica fan-out and the streaming ASGI response.

Frames are `data: {json}\\n\\n` with the envelope `{id, ts, type, payload}` and no
`event:`/`id:` lines; a `: ping` comment keeps idle streams alive (A20).
"""

import itertools
import json
import logging
from collections.abc import Iterable
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .clock import format_timestamp, utc_now

logger = logging.getLogger(__name__)

Envelope = dict[str, Any]

# A subscriber that falls this far behind loses events rather than stalling turns.
_SUBSCRIBER_BUFFER = 1000


class EventHub:
    """Fan events of one workspace's engine out to every open stream."""

    def __init__(self) -> None:
        self._sequence = itertools.count(1)
        self._subscribers: set[MemoryObjectSendStream[Envelope]] = set()

    @property
    def subscriber_count(self) -> int:
        """How many streams are open on this workspace."""
        return len(self._subscribers)

    def envelope(self, event_type: str, payload: dict[str, Any]) -> Envelope:
        """Wrap a payload in the event envelope with a fresh id."""
        return {
            "id": f"evt_{next(self._sequence):06d}",
            "ts": format_timestamp(utc_now()),
            "type": event_type,
            "payload": payload,
        }

    def publish(self, event_type: str, payload: dict[str, Any]) -> Envelope:
        """Send an event to every subscriber and return it."""
        event = self.envelope(event_type, payload)
        for subscriber in list(self._subscribers):
            try:
                subscriber.send_nowait(event)
            except anyio.WouldBlock:
                logger.warning("Dropped %s for a slow event-stream reader", event_type)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.discard(subscriber)

        return event

    def subscribe(
        self,
    ) -> tuple[MemoryObjectSendStream[Envelope], MemoryObjectReceiveStream[Envelope]]:
        """Register a new subscriber; pass the send side back to `unsubscribe`."""
        send, receive = anyio.create_memory_object_stream[Envelope](_SUBSCRIBER_BUFFER)
        self._subscribers.add(send)
        return send, receive

    def unsubscribe(self, send: MemoryObjectSendStream[Envelope]) -> None:
        """Forget a subscriber and end its stream."""
        self._subscribers.discard(send)
        send.close()

    def close_all(self) -> int:
        """End every open stream, e.g. because the engine went away; count them."""
        subscribers = list(self._subscribers)
        for subscriber in subscribers:
            self.unsubscribe(subscriber)
        return len(subscribers)


def encode_event(event: Envelope) -> bytes:
    """Encode one envelope as an SSE frame."""
    return f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


_PING = b": ping\n\n"


class EventStreamResponse(Response):
    """A response that relays a hub's events until the client leaves.

    It listens for `http.disconnect` itself, whatever ASGI version the server
    speaks, so a closed client connection always removes its subscriber.
    """

    def __init__(
        self, hub: EventHub, first_events: Iterable[Envelope], heartbeat: float
    ) -> None:
        self.status_code = 200
        self.background = None
        self.media_type = "text/event-stream"
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})
        self._hub = hub
        self._first_events = list(first_events)
        self._heartbeat = heartbeat
        self._write_lock = anyio.Lock()
        self._send_side, self._receive_side = hub.subscribe()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the stream; the subscriber is dropped however the stream ends."""
        try:
            start = {"type": "http.response.start", "status": self.status_code}
            await send({**start, "headers": self.raw_headers})
            async with anyio.create_task_group() as group:
                group.start_soon(self._watch_disconnect, receive, group.cancel_scope)
                await self._relay(send)
                group.cancel_scope.cancel()
        finally:
            self._hub.unsubscribe(self._send_side)
            self._receive_side.close()

    async def _watch_disconnect(
        self, receive: Receive, scope: anyio.CancelScope
    ) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()

    async def _relay(self, send: Send) -> None:
        for event in self._first_events:
            await self._send_chunk(send, encode_event(event))

        # Pings run beside the relay rather than as a receive timeout: a timeout
        # would restart with every event, and cancelling a receive can lose one.
        async with anyio.create_task_group() as pings:
            pings.start_soon(self._ping, send)
            async for event in self._receive_side:
                await self._send_chunk(send, encode_event(event))
            pings.cancel_scope.cancel()

        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _ping(self, send: Send) -> None:
        while True:
            await anyio.sleep(self._heartbeat)
            await self._send_chunk(send, _PING)

    async def _send_chunk(self, send: Send, chunk: bytes) -> None:
        # Two tasks write to the one response; a frame must not split another.
        async with self._write_lock:
            message = {"type": "http.response.body", "body": chunk, "more_body": True}
            await send(message)
