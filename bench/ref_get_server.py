"""A second reference for bench/run.py: the floor under `get_replica`.

A bare SDK `MCPServer` whose one tool, `get_replica`, makes the same upstream
request as ours (`GET /v1/replica/{id}?include=environment`) through one shared
`httpx2.AsyncClient`, and returns the body as text. What our server spends
beyond this is our own code; what this spends beyond an echo plus a direct GET
is the SDK's async path to the network.

REPLICAS_BASE_URL=... REPLICAS_API_KEY=... python bench/ref_get_server.py
"""

import os

import httpx2
from mcp.server import MCPServer

server = MCPServer("get-reference", log_level="WARNING")
http = httpx2.AsyncClient(
    base_url=os.environ["REPLICAS_BASE_URL"],
    headers={"Authorization": f"Bearer {os.environ['REPLICAS_API_KEY']}"},
)


@server.tool()
async def get_replica(replica_id: str) -> str:
    """Return the replica's details as the API sends them."""
    response = await http.get(
        f"/v1/replica/{replica_id}", params={"include": "environment"}
    )
    return response.raise_for_status().text


if __name__ == "__main__":
    server.run()
