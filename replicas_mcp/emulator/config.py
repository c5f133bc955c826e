"""Settings of the Replicas API emulator: keys, organisations and timing knobs."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .faults import FaultRule, as_rule

DEFAULT_API_KEY = "sk_replicas_test"
DEFAULT_ORGANIZATION = "acme"

TEN_MEGABYTES = 10 * 1024 * 1024


def _default_keys() -> dict[str, str]:
    return {DEFAULT_API_KEY: DEFAULT_ORGANIZATION}


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that shapes one emulator instance; every knob has a default.

    The delays are in seconds. The defaults suit a live demo: a workspace boots in
    about a second and a turn takes a few seconds. Tests pass tiny values.
    """

    api_keys: Mapping[str, str] = field(default_factory=_default_keys)
    """Bearer key → organisation name. Each organisation gets its own seed data."""

    boot_delay: float = 1.0
    """Time from create until the workspace's engine is up (`preparing` → `active`)."""

    wake_delay: float = 1.0
    """Time from an implicit wake until the workspace is `active` again."""

    idle_timeout: float = 600.0
    """Inactivity after which an idle `active` workspace goes to sleep."""

    turn_step_delay: float = 0.4
    """Pause between two steps of the simulated agent and of the start hooks."""

    heartbeat_interval: float = 15.0
    """Interval of the `: ping` comment on open event streams."""

    strict_enums: bool = True
    """Reject enum values outside the contract's lists with 400 (A6)."""

    max_active: int | None = None
    """Cap on `preparing`/`active` workspaces per organisation; None = no cap."""

    max_active_status: Literal[409, 429] = 429
    """Status answered when `max_active` is reached (A17 reserves 409, A18 429)."""

    max_body_bytes: int = TEN_MEGABYTES
    """Request bodies above this size get 413 (A29)."""

    engine_version: str = "0.42.0"
    """Reported as `environment.engine_version`."""

    large_replicas: bool = False
    """Seed every organisation with the idle `large-*` replicas of `large.py`."""

    failing_start_hooks: frozenset[str] = frozenset()
    """Repositories, by full (`acme/api`) or short (`api`) name, whose start hook
    exits with status 1 in every replica created with them (`hooks.failed`)."""

    faults: tuple[FaultRule | str, ...] = ()
    """Fault rules in force from the start, as rules or specs such as
    `"POST /v1/replica:status=503:times=2"` (FIDELITY.md, "Fault injection").
    Change them while the server runs through `EmulatorServer.faults`."""

    fault_seed: int = 0
    """Seed of the `rate` draws of rules that carry no `seed` of their own."""

    def __post_init__(self) -> None:
        """Reject settings that would make the emulator misbehave silently."""
        if not self.api_keys:
            raise ValueError("EmulatorConfig.api_keys needs at least one key")

        delays = {
            "boot_delay": self.boot_delay,
            "wake_delay": self.wake_delay,
            "idle_timeout": self.idle_timeout,
            "turn_step_delay": self.turn_step_delay,
        }
        for name, value in delays.items():
            if value < 0:
                raise ValueError(f"EmulatorConfig.{name} must not be negative")

        # A bare string would match repository names by substring.
        if isinstance(self.failing_start_hooks, str):
            raise ValueError(
                "EmulatorConfig.failing_start_hooks takes a set of repository names"
            )
        # A bare spec would be read one character at a time.
        if isinstance(self.faults, str):
            raise ValueError("EmulatorConfig.faults takes a tuple of rules or specs")
        for fault in self.faults:
            as_rule(fault)  # A bad spec fails here, not at the first request.

        if self.heartbeat_interval <= 0:
            raise ValueError("EmulatorConfig.heartbeat_interval must be positive")
        if self.max_active is not None and self.max_active < 0:
            raise ValueError("EmulatorConfig.max_active must not be negative")

    @property
    def organizations(self) -> list[str]:
        """Organisation names in first-seen key order, without duplicates."""
        return list(dict.fromkeys(self.api_keys.values()))

    @property
    def first_api_key(self) -> str:
        """The key that demos and fixtures use by default."""
        return next(iter(self.api_keys))
