"""Reading the `environment` report that `get_replica(include=environment)` returns."""

from typing import Any, cast


def setup_failed(environment: dict[str, Any] | None) -> bool:
    """Whether the report shows a failed warm or start hook."""
    hooks = _dict((environment or {}).get("hooks"))
    warm = _dict(hooks.get("global_warm_hook")).get("status")
    repositories = cast(list[Any], hooks.get("repositories") or [])
    starts = [_dict(r).get("start_hook") for r in repositories]
    warms = [_dict(r).get("warm_hook") for r in repositories]
    return "failed" in (warm, *starts, *warms)


def _dict(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}
