"""Async, typed client for the Replicas REST API."""

from .client import ReplicasClient
from .events import decode_event

__all__ = ["ReplicasClient", "decode_event"]
