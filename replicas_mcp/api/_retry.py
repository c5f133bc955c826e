"""When a failed request is tried again, and when it must not be.

Reads are retried on failures that may pass (no connection, timeouts, 429,
502-504), honouring `Retry-After`, within a bounded number of attempts and
total time. A write is retried only when its request provably never left
this machine: anything else might already have created a replica or sent a
message, and doing it twice costs the user money or confuses the agent.
"""

import functools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import APIConnectionError, APIStatusError

if TYPE_CHECKING:
    from stamina import Attempt
    from stamina.instrumentation import RetryDetails

logger = logging.getLogger(__name__)

# Statuses that say "not now" rather than "no". 500 is not among them: the
# contract reserves it for faults that a retry does not fix.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, and seconds for all of them together."""

    attempts: int = 4
    total: float = 20.0
    wait_initial: float = 0.25
    wait_max: float = 4.0


DEFAULT_RETRIES = RetryPolicy()
NO_RETRIES = RetryPolicy(attempts=1)


def attempts(
    policy: RetryPolicy, on: Callable[[Exception], bool | float]
) -> AsyncIterator["Attempt"]:
    """The attempts at one request: `async for attempt in ...: with attempt: ...`."""
    return _stamina().retry_context(
        on=on,
        attempts=policy.attempts,
        timeout=policy.total,
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
    )


@functools.cache
def _stamina():  # the module; pyright infers its type from the import
    # Imported with the first request rather than at start-up: stamina and
    # tenacity take longer to import than a host should wait for `tools/list`.
    import stamina.instrumentation

    # Retries are logged by our own hook only: stamina's would log a bare
    # event name at WARNING, and would pick structlog if installed, whose
    # default output is stdout, which over stdio is the protocol channel.
    stamina.instrumentation.set_on_retry_hooks([_log_retry])
    return stamina


def _log_retry(details: "RetryDetails") -> None:
    # The cause is one of our errors, whose text never holds the key.
    logger.info(
        "retrying a Replicas API request in %.1f s (retry %d): %s",
        details.wait_for,
        details.retry_num,
        details.caused_by,
    )


def read_failure_is_transient(exc: Exception) -> bool | float:
    """For stamina: retry a read? A number is the wait the server asked for."""
    if isinstance(exc, APIConnectionError):
        return True

    if isinstance(exc, APIStatusError) and exc.status_code in TRANSIENT_STATUSES:
        return exc.retry_after if exc.retry_after is not None else True

    return False


def write_never_left(exc: Exception) -> bool:
    """For stamina: retry a write only if it was never sent."""
    return isinstance(exc, APIConnectionError) and not exc.sent
