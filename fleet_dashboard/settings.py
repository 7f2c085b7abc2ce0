"""Every setting the app reads, from the environment or an optional .env file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"


class Settings(BaseSettings):
    """One typed view of the configuration, so nothing else calls os.getenv."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = None
    embedded_pg_dir: str = "data/postgres"
    whatsapp_backend: Literal["neonize", "simulator"] = "neonize"
    secret_key: str = PLACEHOLDER_SECRET
    jwt_secret: str | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str = "authenticated"
    allowed_origins: str = ""
    port: int = 3000
    default_region: str = "EG"
    bus_backend: Literal["postgres", "memory"] = "postgres"
    run_engine: bool = True
    run_worker: bool = True
    session_ttl_hours: int = 12
    # The session cookie's Secure flag. Unset: on in production (served over https), off elsewhere;
    # browsers drop a Secure cookie set by a plain-http page, so set it false only for an http-only install.
    session_cookie_secure: bool | None = None
    send_rate_per_minute: float = 20.0
    send_jitter_seconds: float = 2.0
    reconnect_base_seconds: float = 2.0
    reconnect_max_seconds: float = 300.0
    reconnect_max_failures: int = 8
    simulator_qr_rotate_seconds: float = 20.0
    simulator_receipt_delay_seconds: float = 1.0
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    rate_limit_sessions: str = "100/15minutes"
    rate_limit_send: str = "10/minute"
    rate_limit_enqueue: str = "600/minute"
    rate_limit_login: str = "5/minute"
    max_body_bytes: int = Field(default=2 * 1024 * 1024)
    # Bearer token for GET /api/metrics; unset = the endpoint is open (keep it on a private network).
    metrics_token: str | None = None
    # Webhook URLs may point at loopback, private or link-local addresses only when this is on: an
    # organisation owner must not be able to make the server call its own network (SSRF).
    webhook_allow_private_networks: bool = False

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment != "development" and self.secret_key in ("", PLACEHOLDER_SECRET):
            raise ValueError("SECRET_KEY must be set to a real secret outside development")
        if self.environment != "development" and self.jwt_secret in ("", PLACEHOLDER_SECRET):
            raise ValueError("JWT_SECRET must not be a placeholder outside development")
        return self

    @property
    def cookie_secure(self) -> bool:
        """Whether the session cookie is Secure: SESSION_COOKIE_SECURE, else on in production."""
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.environment == "production"

    @property
    def origins(self) -> list[str]:
        """ALLOWED_ORIGINS as a list, so CORS can take it as is."""
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
