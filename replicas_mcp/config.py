"""Settings, read from `REPLICAS_*` environment variables; command-line flags win."""

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.replicas.dev"


class Settings(BaseSettings):
    """How to reach the Replicas API.

    Build it once at start-up (flags as keyword arguments override the
    environment) and pass it down; nothing reads the environment later.
    """

    model_config = SettingsConfigDict(env_prefix="REPLICAS_", frozen=True)

    api_key: SecretStr | None = Field(
        default=None, description="Bearer key for the Replicas API (sk_replicas_...)."
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL, description="Where the Replicas API lives."
    )
    timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for any one response."
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a connection."
    )

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_missing(cls, value: object) -> object:
        # Hosts often template an empty value into the env; "Bearer " alone is
        # an illegal header, so treat blank like absent.
        if isinstance(value, str) and not value.strip():
            return None

        return value.strip() if isinstance(value, str) else value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            msg = (
                f"REPLICAS_BASE_URL must start with http:// or https://, got {value!r}"
            )
            raise ValueError(msg)

        return value
