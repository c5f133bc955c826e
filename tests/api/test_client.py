"""The API client against the emulator, over real loopback HTTP."""

import socket

import anyio
import pytest

from replicas_mcp.api import ReplicasClient
from replicas_mcp.emulator import EmulatorServer
from replicas_mcp.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    MissingAPIKeyError,
    NotFoundError,
)

from ..conftest import API_KEY, OTHER_ORG_KEY
from ..waiting import turn_completed

pytestmark = pytest.mark.anyio

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


async def _new_replica(api: ReplicasClient, message: str = "Fix the login bug") -> str:
    repositories = await api.list_repositories()
    replica = await api.create_replica(
        name="client-test", message=message, repository_ids=[repositories[0].id]
    )
    return replica.id


async def test_catalog_lists_seeded_repositories_sets_and_environments(
    api: ReplicasClient,
) -> None:
    """The three create targets are readable and reference each other."""
    repositories = await api.list_repositories()
    sets = await api.list_repository_sets()
    environments = await api.list_environments()

    assert len(repositories) >= 2
    repo_ids = {repo.id for repo in repositories}
    assert sets and all(r.id in repo_ids for s in sets for r in s.repositories)
    assert any(env.is_global for env in environments)
    assert any(env.repository_id in repo_ids for env in environments)


async def test_create_returns_a_preparing_replica_that_becomes_active(
    api: ReplicasClient,
) -> None:
    """With the version header the create call does not wait for the boot."""
    replica_id = await _new_replica(api)
    created = await api.get_replica(replica_id)

    assert created.name == "client-test"
    assert created.source == "api"

    details = await turn_completed(api, replica_id)

    assert details.status == "active"
    assert details.last_activity_at is not None
    assert details.coding_agent == "claude"


async def test_a_completed_turn_leaves_history_hooks_and_a_diff(
    api: ReplicasClient,
) -> None:
    """One message produces a conversation, hook logs and a unified diff."""
    replica_id = await _new_replica(api, "Add a /healthz endpoint")
    await turn_completed(api, replica_id)

    history = await api.get_history(replica_id)
    hooks = await api.get_hooks(replica_id)
    details = await api.get_replica(replica_id, include=("diffs",))

    assert history.total == len(history.events) and not history.has_more
    assert history.events[0].type == "claude-user"
    assert "healthz" in str(history.events[0].payload)
    assert hooks.start_hooks and all(log.exit_code == 0 for log in hooks.start_hooks)
    statuses = details.repository_statuses or []
    diff = statuses[0].git_diff
    assert diff is not None and diff.added > 0
    assert diff.full_diff.startswith("diff --git ")


async def test_diffs_are_left_out_unless_asked_for(api: ReplicasClient) -> None:
    replica_id = await _new_replica(api)
    await turn_completed(api, replica_id)

    details = await api.get_replica(replica_id)

    statuses = details.repository_statuses or []
    assert statuses and statuses[0].git_diff is not None
    assert statuses[0].git_diff.added > 0
    assert statuses[0].git_diff.full_diff == ""


async def test_history_pages_back_from_the_newest_event(api: ReplicasClient) -> None:
    """offset skips the newest events; has_more says older ones remain."""
    replica_id = await _new_replica(api)
    await turn_completed(api, replica_id)
    everything = await api.get_history(replica_id)

    newest_two = await api.get_history(replica_id, limit=2)
    before_those = await api.get_history(replica_id, limit=2, offset=2)

    assert newest_two.events == everything.events[-2:]
    assert before_those.events == everything.events[-4:-2]
    assert newest_two.has_more and newest_two.total == everything.total


async def test_a_second_message_while_the_agent_works_is_queued(
    api: ReplicasClient,
) -> None:
    replica_id = await _new_replica(api)
    await turn_completed(api, replica_id)
    first = await api.send_message(replica_id, message="Now add a README section")

    second = await api.send_message(replica_id, message="And a changelog entry")

    assert first.status == "sent"
    assert second.status == "queued" and second.position == 1
    assert second.chat_id == first.chat_id
    await turn_completed(api, replica_id, turns=3)


async def test_chats_can_be_created_listed_and_deleted(api: ReplicasClient) -> None:
    replica_id = await _new_replica(api)
    await turn_completed(api, replica_id)

    chat = await api.create_chat(replica_id, provider="codex", title="Review")
    listed = await api.list_chats(replica_id)
    await api.delete_chat(replica_id, chat.id)
    after = await api.list_chats(replica_id)

    assert chat.provider == "codex"
    assert chat.id in {c.id for c in listed.chats}
    assert chat.id not in {c.id for c in after.chats}


async def test_deleted_replica_is_gone(api: ReplicasClient) -> None:
    replica_id = await _new_replica(api)

    await api.delete_replica(replica_id)

    with pytest.raises(NotFoundError):
        await api.get_replica(replica_id)


async def test_list_is_paged_newest_first(api: ReplicasClient) -> None:
    first = await _new_replica(api)
    second = await _new_replica(api)

    page = await api.list_replicas(limit=2)

    assert [r.id for r in page.replicas] == [second, first]
    assert page.total_pages == -(-page.total // 2)


async def test_event_stream_yields_typed_events_and_skips_heartbeats(
    api: ReplicasClient,
) -> None:
    """The stream starts with engine.ready and carries a whole turn."""
    replica_id = await _new_replica(api)
    await turn_completed(api, replica_id)
    seen: list[str] = []

    with anyio.fail_after(5):
        async with api.stream_events(replica_id) as events:
            await api.send_message(replica_id, message="Tidy the imports")
            async for event in events:
                seen.append(event.type)
                if event.type == "chat.turn.completed":
                    break

    assert seen[0] == "engine.ready"
    turn = seen[seen.index("chat.turn.accepted") :]
    assert turn[-1] == "chat.turn.completed" and "chat.turn.delta" in turn


async def test_unknown_replica_is_not_found_with_the_api_reason(
    api: ReplicasClient,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await api.get_replica(UNKNOWN_ID)

    assert caught.value.status_code == 404
    assert caught.value.error
    assert caught.value.path == f"/v1/replica/{UNKNOWN_ID}"


async def test_another_organisations_replica_is_not_found(
    api: ReplicasClient, emulator: EmulatorServer
) -> None:
    replica_id = await _new_replica(api)

    async with ReplicasClient(
        api_key=OTHER_ORG_KEY, base_url=emulator.base_url
    ) as other:
        with pytest.raises(NotFoundError):
            await other.get_replica(replica_id)


async def test_whitespace_in_a_name_is_a_bad_request(api: ReplicasClient) -> None:
    repositories = await api.list_repositories()

    with pytest.raises(BadRequestError) as caught:
        await api.create_replica(
            name="has space", message="x", repository_ids=[repositories[0].id]
        )

    assert "name" in str(caught.value)


async def test_wrong_key_is_an_authentication_error_that_never_shows_the_key(
    emulator: EmulatorServer,
) -> None:
    canary = "sk_replicas_CANARY_must_not_leak"

    async with ReplicasClient(api_key=canary, base_url=emulator.base_url) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.list_replicas()

    assert caught.value.status_code == 401
    assert canary not in str(caught.value)
    assert canary not in repr(vars(caught.value))


async def test_missing_key_fails_before_anything_is_sent() -> None:
    # The port is closed: reaching the network would give a connection error.
    async with ReplicasClient(api_key=None, base_url=_closed_port_url()) as client:
        with pytest.raises(MissingAPIKeyError) as caught:
            await client.list_replicas()

    assert "REPLICAS_API_KEY" in str(caught.value)


async def test_unreachable_service_is_a_connection_error() -> None:
    url = _closed_port_url()

    async with ReplicasClient(api_key=API_KEY, base_url=url) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.list_repositories()

    assert url in str(caught.value)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    return f"http://127.0.0.1:{port}"
