"""A local emulator of the hosted Replicas REST API.

It follows the contract in `replicas-api.md` (including its assumptions A1-A30)
closely enough to be the upstream of every test and the default for demos:
bearer keys map to organisations with seeded repositories, sets and
environments; replicas boot, sleep and wake on timers; a simulated agent turns
each message into Claude- or Codex-shaped history, SSE events and real unified
diffs. Where it deliberately differs from the service, `FIDELITY.md` beside this
file says so.
"""

from .app import build_app
from .config import EmulatorConfig
from .fault_middleware import ConnectionDropped
from .faults import (
    FaultInjector,
    FaultRule,
    FaultSpecError,
    InjectedFault,
    parse_fault,
)
from .large import large_replica_ids
from .seed import stable_id
from .server import EmulatorServer, serve
from .state import EmulatorState

__all__ = [
    "ConnectionDropped",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorState",
    "FaultInjector",
    "FaultRule",
    "FaultSpecError",
    "InjectedFault",
    "build_app",
    "large_replica_ids",
    "parse_fault",
    "serve",
    "stable_id",
]
