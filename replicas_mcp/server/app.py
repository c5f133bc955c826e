"""`build_server`: the Replicas MCP server, assembled."""

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.types import (
    INVALID_PARAMS,
    ListResourcesResult,
    PaginatedRequestParams,
    Resource,
)
from pydantic import ValidationError

from .._version import __version__
from ..api import ReplicasClient
from ..config import Settings
from ..errors import ReplicasError
from .completions import register_completions
from .log_level import register_log_level
from .prompts import register_prompts
from .resources import STATUS_URI, register_resources
from .schemas import outline_of, portable
from .state import AppState, tenant_of
from .subscriptions import register_subscriptions
from .tenants import Tenants, keyed_clients
from .tools import ALL_TOOLS, ToolSpec

logger = logging.getLogger(__name__)

INSTRUCTIONS = """\
Delegate coding tasks to Replicas cloud agents. list_repositories, then \
create_replica with a clear task. Follow it with wait_for_replicas (up to a \
minute per call), then review: get_history for what the agent said, get_diff for \
what it changed (stat first, then patch), get_hooks if setup failed. \
send_message continues in the same replica. Big answers are paged: follow \
next_offset. Reading a sleeping replica wakes it; list_replicas does not."""

READ_ONLY_INSTRUCTIONS = """\
Follow and review work of Replicas cloud agents (this server cannot start or \
change any). list_replicas, then get_replica for a replica's state; \
wait_for_replicas waits for progress; get_history, get_diff and get_hooks show \
what the agent said, changed and ran. Big answers are paged: follow \
next_offset. Reading a sleeping replica wakes it; list_replicas does not."""

RECENT_REPLICAS = 20
TOOL_DEADLINE = 50.0


class ReplicasServer(MCPServer[AppState]):
    """MCPServer with the argument handling real hosts need.

    Hosts send "" for optional arguments they mean to leave out, and a model
    reading a raw pydantic report learns little; this class smooths both, and
    refuses tools the configuration turned off with a reason.
    """

    def __init__(
        self,
        *,
        bus: InMemorySubscriptionBus,
        client: ReplicasClient | None,
        owns_client: bool,
        settings: Settings,
        tools: list[Tool],
        withheld: dict[str, str],
        instructions: str,
    ) -> None:
        """Serve with `client`, or multi-tenant (a client per key) if it is None."""

        @asynccontextmanager
        async def lifespan(_: MCPServer[AppState]) -> AsyncGenerator[AppState]:
            async with (
                _clients(client, owns_client, settings) as connect,
                anyio.create_task_group() as task_group,
            ):
                tenants = Tenants(task_group, client=client, bus=bus, connect=connect)
                yield AppState(tenants=tenants)
                # Event streams live as long as someone watches; at
                # shutdown nobody does any more.
                task_group.cancel_scope.cancel()

        super().__init__(
            "replicas",
            title="Replicas",
            version=__version__,
            instructions=instructions,
            lifespan=lifespan,
            log_level="WARNING",
            tools=tools,
            subscriptions=bus,
        )

        # `MCPServer.list_resources()` takes no request context, and which
        # replicas to list depends on the request's tenant: serve the method
        # one level down, as `subscriptions.py` does for its methods.
        lowlevel = self._lowlevel_server
        lowlevel.add_request_handler(
            "resources/list", PaginatedRequestParams, self._list_resources_of
        )

        # Without a client of its own, it makes one per key the requests bring.
        self.multi_tenant = client is None
        self._withheld = withheld
        self._parameters = {
            tool.name: set(tool.parameters.get("properties", {})) for tool in tools
        }
        self._optional = {
            tool.name: self._parameters[tool.name]
            - set(tool.parameters.get("required", []))
            for tool in tools
        }

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        context: Context[AppState, Any] | None = None,
    ) -> Any:
        """Prompts, with a caller's mistakes reported as invalid params.

        The SDK raises a plain ValueError for an unknown prompt or a missing
        argument, which the 2026 protocol turns into an internal error.
        """
        known = sorted(prompt.name for prompt in await self.list_prompts())
        if name not in known:
            msg = f"no prompt named {name!r}; the prompts are: {', '.join(known)}"
            raise MCPError(INVALID_PARAMS, msg)

        try:
            return await super().get_prompt(name, arguments, context)
        except ValueError as exc:
            raise MCPError(INVALID_PARAMS, str(exc)) from exc

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        context: Context[AppState, Any] | None = None,
    ) -> Any:
        if name in self._withheld:
            raise ToolError(self._withheld[name])

        unknown = sorted(set(arguments) - self._parameters.get(name, set(arguments)))
        if unknown:
            accepted = ", ".join(sorted(self._parameters[name]))
            msg = f"{name} has no argument {', '.join(unknown)}; it takes: {accepted}"
            raise ToolError(msg)

        optional = self._optional.get(name, set())
        arguments = {
            key: value
            for key, value in arguments.items()
            if not (key in optional and (value is None or value == ""))
        }
        try:
            # Hosts give up on a call after about a minute; answer before that.
            with anyio.fail_after(TOOL_DEADLINE):
                return await super().call_tool(name, arguments, context)
        except TimeoutError:
            msg = (
                f"{name} took longer than {TOOL_DEADLINE:g} s, so it was stopped; "
                "the Replicas API may be slow: try again in a minute"
            )
            raise ToolError(msg) from None
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(_invalid(name, exc.__cause__)) from exc.__cause__
            raise

    async def _list_resources_of(
        self, ctx: ServerRequestContext[AppState, Any], _: PaginatedRequestParams
    ) -> ListResourcesResult:
        """The static resources, then the tenant's recent replicas as concrete URIs."""
        listed = await self.list_resources()
        tenant = tenant_of(ctx)
        if tenant is not None:
            listed += await _recent_replicas(tenant.client)

        return ListResourcesResult(resources=listed)


async def _recent_replicas(client: ReplicasClient) -> list[Resource]:
    try:
        page = await client.list_replicas(limit=RECENT_REPLICAS)
    except ReplicasError as exc:
        # Listing must not fail because the API is unreachable or no key
        # is set; the templates still show what can be read.
        logger.info("no recent replicas in resources/list: %s", exc)
        return []

    return [
        Resource(
            uri=STATUS_URI.format(replica_id=replica.id),
            name=replica.name,
            title=f"Replica {replica.name}",
            description=f"{replica.status} replica, status as JSON",
            mime_type="application/json",
        )
        for replica in page.replicas
    ]


@asynccontextmanager
async def _clients(
    client: ReplicasClient | None, owns_client: bool, settings: Settings
) -> AsyncGenerator[Callable[[str], ReplicasClient] | None]:
    """None with one client (closed if ours), else a maker of per-key clients."""
    if client is None:
        async with keyed_clients(settings) as connect:
            yield connect
        return

    try:
        yield None
    finally:
        # The client reconnects lazily, so a later session can reuse it.
        if owns_client:
            await client.aclose()


def build_server(
    settings: Settings | None = None, *, client: ReplicasClient | None = None
) -> ReplicasServer:
    """Build the MCP server.

    Pass `client` to share an existing `ReplicasClient` (the caller closes it);
    otherwise one is built from `settings` (or the environment). `settings`
    also chooses which tools are offered, and with `multi_tenant` makes a
    server that acts with each HTTP request's own key (and takes no `client`).
    """
    settings = settings or Settings()
    if settings.multi_tenant and client is not None:
        raise ValueError("a multi-tenant server makes its own client for each key")

    if client is None and not settings.multi_tenant:
        client, owns_client = ReplicasClient.from_settings(settings), True
    else:
        owns_client = False
    offered, withheld = select_tools(settings)
    writes = any(spec.writes for spec in offered)
    bus = InMemorySubscriptionBus()
    server = ReplicasServer(
        bus=bus,
        client=client,
        owns_client=owns_client,
        settings=settings,
        tools=[_tool(spec) for spec in offered],
        withheld=withheld,
        instructions=INSTRUCTIONS if writes else READ_ONLY_INSTRUCTIONS,
    )
    register_resources(server)
    register_prompts(server, can_create="create_replica" not in withheld)
    register_completions(server)
    register_subscriptions(server)
    register_log_level(server)
    return server


def select_tools(settings: Settings) -> tuple[list[ToolSpec], dict[str, str]]:
    """Split the tools into offered ones and turned-off ones with the reason why."""
    known = {spec.name for spec in ALL_TOOLS}
    unknown = sorted(set(settings.tools or ()) - known)
    if unknown:
        msg = (
            f"REPLICAS_TOOLS names unknown tools: {', '.join(unknown)}; "
            f"known tools: {', '.join(sorted(known))}"
        )
        raise ValueError(msg)

    offered: list[ToolSpec] = []
    withheld: dict[str, str] = {}
    for spec in ALL_TOOLS:
        if settings.read_only and spec.writes:
            withheld[spec.name] = (
                f"{spec.name} is turned off: this server is read-only "
                "(REPLICAS_READ_ONLY / --read-only)"
            )
        elif settings.tools is not None and spec.name not in settings.tools:
            withheld[spec.name] = (
                f"{spec.name} is turned off: it is not in REPLICAS_TOOLS / --tools"
            )
        else:
            offered.append(spec)

    return offered, withheld


def _tool(spec: ToolSpec) -> Tool:
    # Left to itself the SDK would generate the view's whole schema (only for
    # us to cut it to an outline) and validate every answer against the view
    # again, though each answer is a view model's dump: valid by construction.
    tool = Tool.from_function(
        spec.function,
        title=spec.title,
        description=spec.description,
        annotations=spec.annotations,
        structured_output=False,
    )
    tool.parameters = portable(tool.parameters)
    tool.fn_metadata.output_schema = outline_of(spec.view)
    return tool


def _invalid(tool: str, error: ValidationError) -> str:
    """One readable line per bad argument, naming it and what it should be."""
    problems: list[str] = []
    for detail in error.errors():
        field = ".".join(str(part) for part in detail["loc"]) or "arguments"
        if detail["type"] == "missing":
            problems.append(f"{field} is required")
            continue

        got = repr(detail.get("input"))
        got = got if len(got) <= 60 else got[:57] + "..."
        problems.append(f"{field}: {detail['msg'].lower()} (got {got})")

    return f"invalid arguments for {tool}: " + "; ".join(problems)
