"""What hosts see before any call: tool metadata, schemas, prompts, surface control."""

import json
from typing import Any, cast

import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS, TextContent
from pydantic import BaseModel, TypeAdapter

from replicas_mcp.api import ReplicasClient
from replicas_mcp.config import Settings
from replicas_mcp.server import build_server
from replicas_mcp.server.schemas import Schema, outline_of, portable
from replicas_mcp.server.tools import ALL_TOOLS, ToolSpec

pytestmark = pytest.mark.anyio

TOOLS_LIST_LIMIT = 12 * 1024
MAX_NAME = 48


async def _tools_json(client: Client) -> list[dict[str, Any]]:
    tools = (await client.list_tools()).tools
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


async def test_every_tool_has_a_title_and_its_behaviour_hints(
    mcp_client: Client,
) -> None:
    """A tool without explicit hints would let hosts assume the worst, or the best.

    The spec gives destructive and idempotent meaning only to tools that write,
    so those must carry all four; read-only ones carry read-only and open-world.
    """
    for tool in (await mcp_client.list_tools()).tools:
        hints = tool.annotations
        assert tool.title, tool.name
        assert hints is not None, tool.name
        assert hints.read_only_hint is not None, tool.name
        assert hints.open_world_hint is True, tool.name
        if not hints.read_only_hint:
            assert hints.destructive_hint is not None, tool.name
            assert hints.idempotent_hint is not None, tool.name


async def test_only_delete_tools_are_destructive(mcp_client: Client) -> None:
    tools = (await mcp_client.list_tools()).tools

    destructive = {
        t.name for t in tools if t.annotations and t.annotations.destructive_hint
    }

    assert destructive == {"delete_replica", "delete_chat"}


def _schema_problems(node: Any, where: str, *, root: bool = False) -> list[str]:
    """Constructs some hosts reject, found anywhere in a schema."""
    problems: list[str] = []
    if isinstance(node, list):
        for index, item in enumerate(node):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            problems += _schema_problems(item, f"{where}[{index}]")
        return problems

    if not isinstance(node, dict):
        return problems

    schema: dict[str, Any] = node  # pyright: ignore[reportUnknownVariableType]
    if root and ({"anyOf", "oneOf", "allOf"} & schema.keys()):
        problems.append(f"{where}: union at the root")
    if {"$ref", "$defs", "definitions"} & schema.keys():
        problems.append(f"{where}: $ref/$defs")
    if schema.get("type") == "array" and "items" not in schema:
        problems.append(f"{where}: array without items")
    if isinstance(schema.get("type"), list):
        problems.append(f"{where}: type array {schema['type']}")
    if "enum" in schema and not all(isinstance(v, str) for v in schema["enum"]):
        problems.append(f"{where}: non-string enum")

    for key, value in schema.items():
        if key == "properties":
            for name, sub in value.items():
                problems += _schema_problems(sub, f"{where}.{name}")
        elif key != "enum":
            problems += _schema_problems(value, f"{where}/{key}")

    return problems


async def test_schemas_use_only_what_every_host_accepts(mcp_client: Client) -> None:
    problems: list[str] = []
    for tool in await _tools_json(mcp_client):
        assert len(tool["name"]) <= MAX_NAME, tool["name"]
        problems += _schema_problems(tool["inputSchema"], tool["name"], root=True)
        problems += _schema_problems(
            tool.get("outputSchema"), f"{tool['name']} output", root=True
        )

    assert problems == []


def _cut(node: Any, depth: int = 0) -> Any:
    """The reference outline: a portable schema with nested objects cut short."""
    if isinstance(node, list):
        return [_cut(item, depth) for item in cast(list[Any], node)]

    if not isinstance(node, dict):
        return node

    schema = cast(Schema, node)
    if depth >= 1 and schema.get("type") == "object":
        return {"type": "object"}

    return {
        key: _cut(value, depth + (key in ("properties", "items")))
        for key, value in schema.items()
        if key not in ("required", "additionalProperties", "default")
    }


@pytest.mark.parametrize("spec", ALL_TOOLS, ids=lambda spec: spec.name)
def test_each_output_outline_is_the_cut_of_its_full_schema(spec: ToolSpec) -> None:
    """The outline read off a view's fields says what the generated schema says."""
    full = portable(TypeAdapter(spec.view).json_schema())

    assert outline_of(spec.view) == _cut(full)


def test_an_outline_refuses_a_field_type_it_cannot_describe() -> None:
    class Odd(BaseModel):
        when: complex

    with pytest.raises(TypeError, match="complex"):
        outline_of(Odd)


def test_the_schema_check_catches_what_it_claims_to() -> None:
    """Guard against a checker that passes everything."""
    bad = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "properties": {
            "a": {"$ref": "#/$defs/A"},
            "b": {"type": "array"},
            "c": {"type": ["string", "null"]},
            "d": {"enum": [1, 2]},
        },
    }

    problems = _schema_problems(bad, "t", root=True)

    assert len(problems) == 5


async def test_the_whole_tool_list_fits_in_twelve_kilobytes(mcp_client: Client) -> None:
    size = len(
        json.dumps({"tools": await _tools_json(mcp_client)}, separators=(",", ":"))
    )

    assert size <= TOOLS_LIST_LIMIT, size


async def test_descriptions_are_clean_single_paragraph_text(mcp_client: Client) -> None:
    for tool in (await mcp_client.list_tools()).tools:
        assert tool.description and "  " not in tool.description, tool.name
        assert "Args:" not in tool.description, tool.name


async def test_read_only_hides_and_refuses_every_write_tool(
    api: ReplicasClient,
) -> None:
    server = build_server(Settings(read_only=True), client=api)

    async with Client(server) as client:
        tools = (await client.list_tools()).tools
        refused = await client.call_tool(
            "create_replica", {"name": "x", "message": "y"}
        )

    assert tools and all(t.annotations and t.annotations.read_only_hint for t in tools)
    assert refused.is_error
    text = refused.content[0]
    assert isinstance(text, TextContent) and "read-only" in text.text


async def test_an_allow_list_offers_only_the_named_tools(api: ReplicasClient) -> None:
    settings = Settings(tools="get_replica, list_replicas")  # pyright: ignore[reportArgumentType]
    server = build_server(settings, client=api)

    async with Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("get_diff", {"replica_id": "x"})

    assert names == {"get_replica", "list_replicas"}
    assert refused.is_error
    text = refused.content[0]
    assert isinstance(text, TextContent) and "REPLICAS_TOOLS" in text.text


def test_an_allow_list_with_an_unknown_name_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="get_replicaz"):
        build_server(Settings(tools=("get_replicaz",)))


async def test_instructions_explain_the_workflow(mcp_client: Client) -> None:
    instructions = mcp_client.instructions

    assert instructions is not None
    for step in (
        "list_repositories",
        "create_replica",
        "wait_for_replicas",
        "get_diff",
    ):
        assert step in instructions


async def test_prompts_walk_a_model_through_delegation_and_review(
    mcp_client: Client,
) -> None:
    prompts = {p.name: p for p in (await mcp_client.list_prompts()).prompts}
    delegate = await mcp_client.get_prompt(
        "delegate_task", {"repository": "acme/web", "task": "Fix the login bug"}
    )
    review = await mcp_client.get_prompt("review_replica", {"replica_id": "r-1"})

    assert set(prompts) == {"delegate_task", "review_replica"}
    assert all(p.description for p in prompts.values())
    delegate_text = delegate.messages[0].content
    review_text = review.messages[0].content
    assert isinstance(delegate_text, TextContent) and isinstance(
        review_text, TextContent
    )
    assert "Fix the login bug" in delegate_text.text
    assert 'coding_agent="claude"' in delegate_text.text
    assert "r-1" in review_text.text and "get_diff" in review_text.text


async def test_an_unknown_prompt_or_missing_argument_is_invalid_params(
    mcp_client: Client,
) -> None:
    """Not an internal error: the caller can fix it."""
    with pytest.raises(MCPError) as unknown:
        await mcp_client.get_prompt("no_such_prompt", {})
    with pytest.raises(MCPError) as missing:
        await mcp_client.get_prompt("review_replica", {})

    assert unknown.value.error.code == INVALID_PARAMS
    assert "delegate_task" in unknown.value.error.message
    assert missing.value.error.code == INVALID_PARAMS
