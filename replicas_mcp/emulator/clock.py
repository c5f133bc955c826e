"""Wall-clock helpers: the API's timestamps are UTC with milliseconds (A26)."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """Render `moment` like `2026-07-21T14:03:11.482Z`."""
    moment = moment.astimezone(UTC)
    millis = moment.microsecond // 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def parse_timestamp(text: str) -> datetime | None:
    """Parse an ISO 8601 date-time with a zone, or return None."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None

    if moment.tzinfo is None:
        return None

    return moment.astimezone(UTC)
