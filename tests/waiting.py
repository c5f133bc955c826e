"""Bounded waits on emulator state, for tests that need an agent's turn done."""

import anyio

from replicas_mcp.api import ReplicasClient
from replicas_mcp.models import ReplicaDetails

POLL = 0.01


async def turn_completed(
    api: ReplicasClient, replica_id: str, *, turns: int = 1, timeout: float = 5
) -> ReplicaDetails:
    """Wait until the replica is active, idle, and has finished `turns` turns."""
    with anyio.fail_after(timeout):
        while True:
            details = await api.get_replica(replica_id)
            chats = details.chats or []
            idle = chats and not any(chat.processing for chat in chats)
            if details.status == "active" and idle:
                history = await api.get_history(replica_id)
                results = [e for e in history.events if _ends_turn(e.type, e.payload)]
                if len(results) >= turns:
                    return details
            await anyio.sleep(POLL)


def _ends_turn(kind: str, payload: dict[str, object]) -> bool:
    if kind == "claude-result":
        return True

    return kind == "event_msg" and payload.get("type") == "task_complete"
