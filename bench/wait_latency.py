"""How long after an agent's turn completes does `wait_for_replicas` answer?

Measures, per run, the time from the emulator publishing `chat.turn.completed`
to the MCP client receiving the answer of a `wait_for_replicas` call that was
already waiting. The server runs as `replicas-mcp serve` over stdio, as a host
would start it; the emulator runs in this process so its publish can be
timestamped. Both sides read the same wall clock.

    python bench/wait_latency.py --runs 25
"""

import argparse
import statistics
import sys
import time
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from replicas_mcp.emulator import EmulatorConfig, EmulatorServer
from replicas_mcp.emulator.events import EventHub

KEY = "sk_replicas_bench"


def _record_completions(stamps: dict[str, float]) -> None:
    """Timestamp every chat.turn.completed the emulator publishes, by chat."""
    publish = EventHub.publish

    def timed(self: EventHub, event_type: str, payload: dict[str, Any]) -> Any:
        if event_type == "chat.turn.completed":
            stamps[str(payload.get("chatId"))] = time.time()
        return publish(self, event_type, payload)

    EventHub.publish = timed  # type: ignore[method-assign]


async def _one_run(
    client: Client, repository_id: str, stamps: dict[str, float]
) -> float:
    created = await client.call_tool(
        "create_replica",
        {
            "name": "bench",
            "message": "Fix the login error",
            "repository_ids": [repository_id],
        },
    )
    assert created.structured_content is not None
    replica_id = created.structured_content["id"]

    waited = await client.call_tool(
        "wait_for_replicas", {"replica_ids": [replica_id], "timeout": 30}
    )
    answered = time.time()

    assert waited.structured_content is not None, waited
    assert not waited.structured_content["timed_out"], waited.structured_content
    chats = await client.call_tool("list_chats", {"replica_id": replica_id})
    assert chats.structured_content is not None
    chat_id = chats.structured_content["chats"][0]["id"]
    return (answered - stamps[chat_id]) * 1000


async def main(runs: int) -> None:
    stamps: dict[str, float] = {}
    _record_completions(stamps)
    config = EmulatorConfig(
        api_keys={KEY: "acme"}, boot_delay=0.05, turn_step_delay=0.05
    )

    async with EmulatorServer(config) as emulator:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "replicas_mcp", "serve"],
            env={"REPLICAS_API_KEY": KEY, "REPLICAS_BASE_URL": emulator.base_url},
        )
        async with Client(server) as client:
            catalog = await client.call_tool("list_repositories", {})
            assert catalog.structured_content is not None
            repository_id = catalog.structured_content["repositories"][0]["id"]
            latencies = [
                await _one_run(client, repository_id, stamps) for _ in range(runs)
            ]

    latencies.sort()
    print(f"runs: {len(latencies)}")
    print(
        f"completion -> wait answer, ms: median {statistics.median(latencies):.1f}, "
        f"min {latencies[0]:.1f}, max {latencies[-1]:.1f}, "
        f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    anyio.run(main, parser.parse_args().runs)
