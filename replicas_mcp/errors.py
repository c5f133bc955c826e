"""
Errors raised by the Replicas API client.

The hierarchy, shaped after the status families the API uses:

* ReplicasError
  * ConfigurationError - the settings cannot work, so nothing was sent.
    * MissingAPIKeyError - no key configured.
  * APIConnectionError - no usable response arrived.
    * APITimeoutError
  * APIResponseError - a 2xx response whose body is not what the contract says.
  * NotAppliedError - a write whose reply was lost, checked and found not to
    have happened: safe to do again.
  * OutcomeUnknownError - a write whose reply was lost and whose effect could
    not be checked: it may or may not have happened.
  * APIStatusError - a non-2xx response; carries the status and the error envelope.
    * BadRequestError (400)
    * AuthenticationError (401)
    * PermissionDeniedError (403)
    * NotFoundError (404)
    * ConflictError (409)
    * RateLimitError (429)
    * ServerError (5xx)

No error ever holds the API key or the request headers, so any of them can be
logged or shown to a model as they are.
"""

__all__ = [
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "MissingAPIKeyError",
    "NotAppliedError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReplicasError",
    "ServerError",
]


class ReplicasError(Exception):
    """Base class of every error the client raises."""


class ConfigurationError(ReplicasError):
    """A setting (key, base URL) cannot work; no request was sent."""


class MissingAPIKeyError(ConfigurationError):
    """No API key is configured, so no request was sent."""

    def __init__(self) -> None:
        super().__init__(
            "no Replicas API key is configured. Set the REPLICAS_API_KEY environment "
            "variable (keys look like sk_replicas_...) in the MCP host's config for "
            "this server, then restart it; or run `replicas-mcp serve --emulator` "
            "to try it against the local emulator"
        )


class APIConnectionError(ReplicasError):
    """The request could not be completed: connection refused, reset, or similar.

    `sent` is False only when the request provably never left: no connection
    was made. Otherwise the API may have acted on it.
    """

    def __init__(
        self, message: str, *, method: str, path: str, sent: bool = True
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.sent = sent


class APITimeoutError(APIConnectionError):
    """The request did not complete within the configured timeout."""


class APIResponseError(ReplicasError):
    """A successful response whose body does not match the API contract."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class NotAppliedError(ReplicasError):
    """A create or send failed, and a look upstream confirmed it did nothing."""


class OutcomeUnknownError(ReplicasError):
    """A create or send lost its reply, and looking for its effect found nothing.

    It was not retried, so it happened at most once.
    """


class APIStatusError(ReplicasError):
    """The API answered with a non-2xx status."""

    def __init__(
        self,
        *,
        status_code: int,
        error: str,
        details: str | None,
        method: str,
        path: str,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.error = error
        self.details = details
        self.method = method
        self.path = path
        self.retry_after = retry_after

        summary = f"HTTP {status_code}: {error}"
        if details:
            summary = f"{summary} ({details})"
        super().__init__(summary)


class BadRequestError(APIStatusError):
    """400: a parameter or body field is missing or invalid."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or unknown."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: the replica, chat, environment or repository does not exist."""


class ConflictError(APIStatusError):
    """409: the replica's current state forbids the operation."""


class RateLimitError(APIStatusError):
    """429: too many requests or too many workspaces."""


class ServerError(APIStatusError):
    """5xx: the service or the workspace's engine failed."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """Pick the most specific error class for an HTTP status."""
    if status_code >= 500:
        return ServerError

    return _STATUS_CLASSES.get(status_code, APIStatusError)
