"""What every request handler shares: the API client."""

from dataclasses import dataclass

from ..api import ReplicasClient


@dataclass(frozen=True)
class AppState:
    client: ReplicasClient
