"""Pieces every tool module shares: argument types, hints, the client."""

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast, get_type_hints

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, BeforeValidator, Field

from ...api import ReplicasClient
from ..live import Watchers
from ..state import AppState, require_tenant
from ..tenants import Tenant


def client_of(ctx: Context[AppState]) -> ReplicasClient:
    """The API client of the tenant this call acts for."""
    return _tenant(ctx).client


def watchers_of(ctx: Context[AppState]) -> Watchers:
    """The live watchers of the tenant this call acts for."""
    return _tenant(ctx).watchers


def _tenant(ctx: Context[AppState]) -> Tenant:
    return require_tenant(ctx.request_context, ToolError)


def _id_list(value: Any) -> Any:
    """Accept one id, or ids separated by commas or spaces, where a list is due.

    Hosts send `"id"` or `"id1,id2"` for an array of ids; a JSON array sent as
    a string is already decoded by the SDK. Anything else is left for the
    schema to reject with the field's name.
    """
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]

    return value


# Named well enough to need no description: every byte of tools/list counts.
ReplicaId = str
ChatId = Annotated[str | None, Field(description="Default: the latest.")]
IdList = Annotated[list[str] | None, BeforeValidator(_id_list)]
# Any list of words a host may send as "a,b" or "a b".
Words = BeforeValidator(_id_list)
CodingAgent = Annotated[
    str | None, Field(description="claude (default), codex, cursor, opencode, pi.")
]
ModelName = Annotated[str | None, Field(description="Model, e.g. sonnet.")]
PlanMode = Annotated[bool | None, Field(description="Plan only; no file changes.")]

# The spec gives the destructive and idempotent hints meaning only for tools
# that write, so read-only tools leave them out (tools/list is paid per byte).
READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
WRITE = ToolAnnotations(
    read_only_hint=False,
    destructive_hint=False,
    idempotent_hint=False,
    open_world_hint=True,
)
DELETE = ToolAnnotations(
    read_only_hint=False,
    destructive_hint=True,
    idempotent_hint=True,
    open_world_hint=True,
)


@dataclass(frozen=True)
class ToolSpec:
    """A tool function with the metadata hosts see."""

    function: Callable[..., Any]
    title: str
    annotations: ToolAnnotations

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def writes(self) -> bool:
        return not self.annotations.read_only_hint

    @property
    def view(self) -> type[BaseModel]:
        """The model of the structured output: `Annotated[CallToolResult, View]`."""
        returns = get_type_hints(self.function, include_extras=True)["return"]
        return cast(type[BaseModel], returns.__metadata__[0])

    @property
    def description(self) -> str:
        """The docstring as one line per paragraph (the SDK sends it raw)."""
        paragraphs = inspect.cleandoc(self.function.__doc__ or "").split("\n\n")
        return "\n\n".join(" ".join(p.split()) for p in paragraphs)
