"""Turn client errors into tool errors a model can act on.

Every message says what went wrong, the API's own reason when there is one,
and what to do next. The texts never contain the API key or raw bodies.
"""

from collections.abc import Generator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ResourceNotFoundError,
    ToolError,
)

from ..errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotAppliedError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ReplicasError,
    ServerError,
)
from .arguments import brief


@contextmanager
def tool_errors(
    *, replica_id: str | None = None, chat_id: str | None = None
) -> Generator[None]:
    """Re-raise any `ReplicasError` inside the block as a `ToolError`."""
    try:
        yield
    except ReplicasError as exc:
        raise ToolError(explain(exc, replica_id=replica_id, chat_id=chat_id)) from exc


@contextmanager
def resource_errors(uri: str, *, replica_id: str | None = None) -> Generator[None]:
    """The same for resources: unknown replicas become "resource not found"."""
    try:
        yield
    except NotFoundError as exc:
        raise ResourceNotFoundError(
            f"{uri}: {explain(exc, replica_id=replica_id)}"
        ) from exc
    except ReplicasError as exc:
        raise ResourceError(explain(exc, replica_id=replica_id)) from exc


def explain(
    exc: ReplicasError, *, replica_id: str | None = None, chat_id: str | None = None
) -> str:
    """One or two sentences on what failed and what to try next."""
    if isinstance(exc, APIStatusError):
        return _explain_status(exc, replica_id=replica_id, chat_id=chat_id)

    if isinstance(exc, APITimeoutError):
        return f"{exc}; the service may be busy, so wait a little and retry"

    if isinstance(exc, APIConnectionError):
        return f"{exc}; check REPLICAS_BASE_URL and the network, then retry"

    if isinstance(exc, APIResponseError):
        return f"{exc}; retry, and report it if it keeps happening"

    if isinstance(exc, NotAppliedError):
        return str(exc)

    if isinstance(exc, OutcomeUnknownError):
        target = (
            f"get_history(replica_id={replica_id!r})"
            if replica_id
            else ("list_replicas")
        )
        return f"{exc}. Check {target} before trying again, to avoid doing it twice"

    # Configuration problems already say what to change.
    return str(exc)


def _explain_status(
    exc: APIStatusError, *, replica_id: str | None, chat_id: str | None
) -> str:
    reason = f"HTTP {exc.status_code}: {exc.error}"
    if exc.details:
        reason = f"{reason} ({exc.details})"

    if isinstance(exc, NotFoundError):
        # The API says which object it did not find only in its error text.
        if chat_id is not None and "chat" in exc.error.lower():
            return (
                f"chat {brief(chat_id)} not found in replica {replica_id} "
                f"({reason}); list_chats shows the replica's chats"
            )
        if replica_id is not None:
            return (
                f"replica {brief(replica_id)} not found ({reason}); list_replicas "
                "shows the ones you can use"
            )
        return (
            f"{reason}; list_repositories shows the repository, repository set "
            "and environment ids you can use"
        )

    if isinstance(exc, AuthenticationError):
        return (
            f"the Replicas API refused the API key ({reason}); check that "
            "REPLICAS_API_KEY holds a current key (sk_replicas_...) and restart "
            "the server (in multi-tenant mode: the key your MCP client sends)"
        )

    if isinstance(exc, PermissionDeniedError):
        return f"this API key may not do that ({reason}); ask an organisation admin"

    if isinstance(exc, BadRequestError):
        return f"the Replicas API rejected the arguments ({reason}); fix them and retry"

    if isinstance(exc, ConflictError):
        target = f"replica {replica_id}" if replica_id else "the replica"
        return (
            f"{target} cannot do that in its current state ({reason}); "
            "get_replica shows its status"
        )

    if isinstance(exc, RateLimitError):
        wait = f"{exc.retry_after:g} s" if exc.retry_after else "a minute"
        return f"the Replicas API is rate limiting ({reason}); retry in {wait}"

    if isinstance(exc, ServerError):
        return f"the Replicas API failed ({reason}); retry in a minute"

    if exc.status_code == 422:
        return f"the Replicas API could not process the arguments ({reason}); fix them"

    return f"the Replicas API answered {reason}"
