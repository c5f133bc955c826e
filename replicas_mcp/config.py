"""Settings, read from `REPLICAS_*` environment variables; command-line flags win."""

import os
import re
from typing import Any, ClassVar

import httpx2
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

DEFAULT_BASE_URL = "https://api.replicas.dev"
# A server token guards everything the server can do; short ones are guessable.
MIN_TOKEN_LENGTH = 16


def key_problem(api_key: str) -> str | None:
    """Why a key cannot be sent in a header, or None. Never quotes the key."""
    if not _header_safe(api_key):
        return (
            "the API key (REPLICAS_API_KEY, or the one your MCP client sends) "
            "contains spaces, line breaks or non-ASCII characters (often curly "
            "quotes from a copy and paste); use the bare key"
        )

    return None


class _FromEnvironment(BaseModel):
    """Fields read from `<prefix><FIELD NAME>` variables; keyword arguments win.

    Every value arrives as the string the variable holds; the validators turn
    it into the field's type (lists are comma- or space-separated words).
    """

    # Inputs stay out of error texts: one of them is the API key.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    env_prefix: ClassVar[str]

    def __init__(self, **values: Any) -> None:
        found = {
            name: os.environ[variable]
            for name in type(self).model_fields
            if (variable := f"{self.env_prefix}{name.upper()}") in os.environ
        }
        super().__init__(**(found | values))


class Settings(_FromEnvironment):
    """How to reach the Replicas API.

    Build it once at start-up (flags as keyword arguments override the
    environment) and pass it down; nothing reads the environment later.
    """

    env_prefix = "REPLICAS_"

    api_key: SecretStr | None = Field(
        default=None, description="Bearer key for the Replicas API (sk_replicas_...)."
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL, description="Where the Replicas API lives."
    )
    timeout: float = Field(
        default=30.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds to wait for any one response.",
    )
    connect_timeout: float = Field(
        default=10.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds to wait for a connection.",
    )
    read_only: bool = Field(
        default=False, description="Offer no tool that creates, sends or deletes."
    )
    tools: tuple[str, ...] | None = Field(
        default=None, description="Offer only these tools (comma-separated names)."
    )
    multi_tenant: bool = Field(
        default=False,
        description="Over HTTP, use each request's own key instead of api_key.",
    )

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_missing(cls, value: object) -> object:
        # Hosts often template an empty value into the env; "Bearer " alone is
        # an illegal header, so treat blank like absent.
        if isinstance(value, str) and not value.strip():
            return None

        return value.strip() if isinstance(value, str) else value

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        problem = key_problem(value.get_secret_value()) if value else None
        if problem is not None:
            raise ValueError(problem)

        return value

    @field_validator("read_only", "multi_tenant", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return False if isinstance(value, str) and not value.strip() else value

    @field_validator("tools", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return _words(value) or None

        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        given = value.strip()
        if not given.startswith(("http://", "https://")):
            msg = f"REPLICAS_BASE_URL must start with http:// or https://: {given!r}"
            raise ValueError(msg)

        try:
            url = httpx2.URL(given)
        except (httpx2.InvalidURL, ValueError) as exc:
            msg = f"REPLICAS_BASE_URL is not a usable URL ({exc}): {given!r}"
            raise ValueError(msg) from None

        if not url.host:
            msg = (
                "REPLICAS_BASE_URL names no host; give one such as "
                f"https://api.replicas.dev (got {given!r})"
            )
            raise ValueError(msg)

        if not 0 < (url.port or 443) < 65536:
            msg = f"REPLICAS_BASE_URL needs a port below 65536: {given!r}"
            raise ValueError(msg)

        return given.rstrip("/")


class HTTPSettings(_FromEnvironment):
    """How `serve --transport http` guards its endpoint (`REPLICAS_MCP_*`).

    Kept apart from `Settings`: these guard the MCP endpoint, not the
    Replicas API, and mean nothing over stdio.
    """

    env_prefix = "REPLICAS_MCP_"

    auth_token: SecretStr | None = Field(
        default=None, description="Token every HTTP request must present."
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(), description="Host header values accepted besides the defaults."
    )
    allowed_origins: tuple[str, ...] = Field(
        default=(), description="Origin header values accepted besides the defaults."
    )
    # Read by the ASGI factory too, which cannot see where uvicorn binds but
    # must know whether that is loopback to pick its Host checks.
    host: str = Field(default="127.0.0.1", description="The address HTTP binds.")
    stateless: bool = Field(
        default=False,
        description="Serve every request on its own, without sessions, so any "
        "of several workers can answer it.",
    )

    @field_validator("auth_token", mode="before")
    @classmethod
    def _blank_token_is_missing(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None

        return value

    @field_validator("auth_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        token = value.get_secret_value() if value else None
        if token is not None and not _header_safe(token):
            msg = (
                "REPLICAS_MCP_AUTH_TOKEN must be printable ASCII without spaces "
                "(it travels in a header)"
            )
            raise ValueError(msg)

        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            msg = (
                f"REPLICAS_MCP_AUTH_TOKEN must be at least {MIN_TOKEN_LENGTH} "
                "characters; generate one with: python -c "
                '"import secrets; print(secrets.token_urlsafe(32))"'
            )
            raise ValueError(msg)

        return value

    @field_validator("host", mode="before")
    @classmethod
    def _blank_host_is_default(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or "127.0.0.1"

        return value

    @field_validator("stateless", mode="before")
    @classmethod
    def _blank_is_off(cls, value: object) -> object:
        return False if isinstance(value, str) and not value.strip() else value

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        return _words(value) if isinstance(value, str) else value


def settings_problems(exc: ValidationError) -> str:
    """What is wrong with `Settings` or `HTTPSettings`, naming the variables.

    The inputs stay out: pydantic was told to hide them, and one is the key.
    """
    model = HTTPSettings if exc.title == HTTPSettings.__name__ else Settings
    prefix = model.env_prefix
    problems: list[str] = []
    for error in exc.errors():
        variable = f"{prefix}{str(error['loc'][0]).upper()}"
        message = error["msg"].removeprefix("Value error, ")
        if not message.startswith(variable):
            message = f"{variable}: {message}"
        if hint := _HINTS.get(error["type"]):
            message = f"{message}; {hint}"
        problems.append(message)

    return "; ".join(problems)


# What to write instead, for the errors whose own words do not say it.
_HINTS = {
    "bool_parsing": "use true or false",
    "float_parsing": "use a number of seconds, e.g. 30",
    "finite_number": "use a number of seconds, e.g. 30",
}


def _words(text: str) -> tuple[str, ...]:
    """Names given as one string, separated by commas or whitespace."""
    return tuple(word for word in re.split(r"[\s,]+", text) if word)


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable() and " " not in value
