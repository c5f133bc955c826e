"""Async, typed client for the Replicas REST API."""

from ._retry import NO_RETRIES, RetryPolicy
from .client import Recovered, RecoveredReceipt, ReplicasClient
from .events import decode_event

__all__ = [
    "NO_RETRIES",
    "Recovered",
    "RecoveredReceipt",
    "ReplicasClient",
    "RetryPolicy",
    "decode_event",
]
