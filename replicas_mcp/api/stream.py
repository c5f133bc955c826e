"""Follow a replica's event stream across drops, with bounded backoff."""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from ..errors import APIConnectionError, APIStatusError, NotFoundError, ServerError
from ..models import EngineEvent
from .client import ReplicasClient

logger = logging.getLogger(__name__)

FIRST_DELAY = 0.1
MAX_DELAY = 5.0


@dataclass(frozen=True)
class StreamGap:
    """The stream is not flowing: it broke, or the replica is not serving it.

    Events may have been missed, so a consumer should re-read state before
    trusting its view again. `attempt` counts consecutive failures.
    """

    reason: str
    attempt: int


async def follow(
    client: ReplicasClient, replica_id: str
) -> AsyncIterator[EngineEvent | StreamGap]:
    """Yield a replica's events forever, reconnecting when the stream drops.

    Before every reconnect it yields a `StreamGap`, so the consumer can re-read
    state (the API does not replay missed events) or stop: opening the stream
    of a sleeping replica wakes it, which a consumer may not want. Delays grow
    from 0.1 s to 5 s and reset once a connection delivers an event. A replica
    that no longer exists ends the iteration with `NotFoundError`.
    """
    attempt = 0
    while True:
        try:
            async with client.stream_events(replica_id) as events:
                async for event in events:
                    attempt = 0
                    yield event
            reason = "the stream ended"
        except NotFoundError:
            raise
        except (APIConnectionError, ServerError) as exc:
            reason = str(exc)
        except APIStatusError as exc:
            # 401/403/409: retrying will not help.
            raise exc

        attempt += 1
        logger.info("event stream of %s: %s (attempt %d)", replica_id, reason, attempt)
        yield StreamGap(reason=reason, attempt=attempt)
        await anyio.sleep(min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1)))
