"""What every request handler shares: the API client and the live watchers."""

from dataclasses import dataclass

from ..api import ReplicasClient
from .live import Watchers


@dataclass(frozen=True)
class AppState:
    client: ReplicasClient
    watchers: Watchers
