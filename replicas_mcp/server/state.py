"""What every request handler shares: the tenants, and which one a request is."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from mcp.server.context import ServerRequestContext

from .tenants import NO_KEY, Tenant, Tenants


@dataclass(frozen=True)
class AppState:
    tenants: Tenants


def tenant_of(request: ServerRequestContext[AppState, Any]) -> Tenant | None:
    """The tenant of the request being handled (None: multi-tenant, no key)."""
    # The HTTP request that carried this message; stdio and memory have none.
    headers = cast(Mapping[str, str] | None, getattr(request.request, "headers", None))
    return request.lifespan_context.tenants.of(headers)


def require_tenant(
    request: ServerRequestContext[AppState, Any], error: Callable[[str], Exception]
) -> Tenant:
    """The request's tenant, or `error` saying how to send a key.

    Each channel reports the missing key its own way: a tool error, a resource
    error, a protocol error.
    """
    tenant = tenant_of(request)
    if tenant is None:
        raise error(NO_KEY)

    return tenant
