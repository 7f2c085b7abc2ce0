"""Every setting the app reads, from the environment or an optional .env file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"


# The REDIS_URL forms Reflex's state manager accepts (reflex.utils.prerequisites.parse_redis_url); the rate limits
# take the same ones (core/ratelimit.storage_url).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Settings(BaseSettings):
    """One typed view of the configuration, so nothing else calls os.getenv."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = None
    embedded_pg_dir: str = "data/postgres"
    # The embedded server's max_connections. PostgreSQL's 100 is too few for a large fleet: each engine process
    # holds its pool, its lease and its bus listener (with the real library also a store pool per live client),
    # and 1,000 organisations take 21 engine processes (docs/ARCHITECTURE.md, "Connections").
    embedded_pg_max_connections: int = Field(default=1000, ge=100)
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
    # The sign-in cookie's Secure flag. Unset: on in production (served over https), off elsewhere;
    # browsers drop a Secure cookie set by a plain-http page, so set it false only for an http-only install.
    session_cookie_secure: bool | None = None
    send_rate_per_minute: float = 20.0
    send_jitter_seconds: float = 2.0
    reconnect_base_seconds: float = 2.0
    reconnect_max_seconds: float = 300.0
    reconnect_max_failures: int = 8
    # Engine processes: `fleet-dashboard run` keeps at least ENGINE_PROCESSES of them (more when the enabled
    # sessions need it), each owning at most ENGINE_SHARD_SIZE organisations, so one abort of the WhatsApp
    # library takes down one shard at most. RUN_ENGINE=false starts none (engines run elsewhere).
    engine_shard_size: int = Field(default=50, ge=1)
    engine_processes: int = Field(default=1, ge=0)
    # Engines beyond what the sessions need: the survivors of an abort take its sessions over within seconds.
    engine_spare_processes: int = Field(default=1, ge=0)
    # A cap, not a target (processes start only as the sessions need them): 64 x 50 = 3,200 organisations; at 16,
    # a 1,000-organisation fleet left 200 sessions with no engine to hold them.
    engine_max_processes: int = Field(default=64, ge=1)
    engine_restart_base_seconds: float = 1.0
    engine_restart_max_seconds: float = 30.0
    # An engine whose heartbeat is older than this counts as down (health, overview, Connect page).
    engine_stale_seconds: float = 15.0
    # An engine process recycles itself once this many library threads are stuck (abandoned pairings).
    engine_max_stuck_threads: int = 64
    # neonize's Go layer keeps its clients in unlocked maps: serialize starts, stops and calls (see
    # whatsapp/engine/library_gate.py). Off only to measure what it buys (bench/library_aborts.py).
    neonize_serialize: bool = True
    # PostgreSQL closes the WhatsApp store's idle connections after this long (neonize's pools never shrink).
    neonize_store_idle_seconds: int = Field(default=30, ge=1)
    # How long whatsmeow may try to reconnect a dropped socket by itself before the engine starts over.
    reconnect_grace_seconds: float = 120.0
    # This many failed sends in a row on a connected socket mark it "connected but sends fail".
    send_failure_threshold: int = Field(default=3, ge=1)
    simulator_qr_rotate_seconds: float = 20.0
    simulator_receipt_delay_seconds: float = 1.0
    # Fault injection for drills: organisations (comma-separated ids) whose simulated start aborts the engine
    # process, as a library abort would (a poison organisation). Never set in production.
    simulator_abort_on_start: str = ""
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    rate_limit_sessions: str = "100/15minutes"
    rate_limit_send: str = "10/minute"
    rate_limit_enqueue: str = "600/minute"
    rate_limit_login: str = "5/minute"
    max_body_bytes: int = Field(default=2 * 1024 * 1024)
    # Documents and images (messaging/media.py): the largest file of each kind, checked before anything is
    # queued. Routes that take a file accept a body big enough for the larger one in base64.
    media_max_document_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    media_max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    media_fetch_timeout_seconds: float = Field(default=20.0, gt=0)
    # Where files live: "postgres" (the whatsapp_media table). Another store plugs in behind media.MediaStore.
    media_store: Literal["postgres"] = "postgres"
    # Bearer token for GET /api/metrics (and /api/health's detail); unset = metrics are open outside production.
    metrics_token: str | None = None
    # The API's OpenAPI schema and Swagger UI (/api/openapi.json, /api/docs); unset = on, except in production.
    api_docs: bool | None = None
    # Webhook URLs may point at loopback, private or link-local addresses only when this is on: an
    # organisation owner must not be able to make the server call its own network (SSRF).
    webhook_allow_private_networks: bool = False
    # Locks the simulator's control routes (/api/simulator/*; development/test only) to this bearer token or an
    # organisation's own sessions credential; unset, they stay open for demos and end-to-end tests.
    simulator_token: str | None = None
    # How many reverse proxies stand in front (each appends to X-Forwarded-For); 0 = clients connect directly
    # and X-Forwarded-For is ignored. The client address rate limits and audit rows use depends on it.
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    # Shared state for several processes: rate-limit counters live here when set (else in process memory).
    redis_url: str | None = None
    # Key prefix of the rate-limit counters in Redis (several installs, or test runs, can share one Redis).
    rate_limit_prefix: str = "fleet-dashboard"
    # Web (Reflex backend) worker processes. They share tabs' state through Redis, so more than one needs
    # REDIS_URL; unset, Reflex's own default (1 without Redis, 2 x cores + 1 up to 8 with it).
    web_workers: int | None = Field(default=None, ge=1, le=64)
    # An engine that stops answering loses its organisations within this many seconds: its lease connection
    # is closed by PostgreSQL (idle_session_timeout, TCP keepalives) and the other engines take them over.
    engine_lease_seconds: float = Field(default=10.0, ge=2.0, le=600.0)
    # ---- accounts and the provisioning bridge ----
    # IANA zone for organisations that did not choose one.
    default_timezone: str = "Africa/Cairo"
    # A valid user JWT whose app_metadata names org_id and role creates or updates that user.
    jwt_provision_from_claims: bool = False
    # The dashboard's public address for links in API answers and e-mails; else the request's own.
    public_url: str | None = None
    login_link_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    # The longest a super_admin's break-glass sign-in as an organisation user may last (it ends by itself).
    break_glass_max_minutes: int = Field(default=60, ge=5, le=720)
    invitation_ttl_hours: int = Field(default=72, ge=1, le=720)
    # Invitations are e-mailed only when SMTP_HOST is set; the link is always shown to copy.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Fleet Dashboard <no-reply@fleet.local>"
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_timeout_seconds: float = 10.0
    # Retention, in days per kind of row (0 keeps them forever); rows still in flight are always kept.
    retention_messages_days: int = Field(default=365, ge=0)
    retention_audit_days: int = Field(default=365, ge=0)
    retention_queue_days: int = Field(default=30, ge=0)  # finished queue rows
    retention_webhook_deliveries_days: int = Field(default=30, ge=0)  # deliveries given up
    retention_simulator_log_days: int = Field(default=7, ge=0)
    retention_batch_size: int = Field(default=1000, ge=1, le=50_000)
    retention_interval_hours: float = Field(default=24.0, gt=0)
    # How often the status counters' deltas are folded in (stats/counters.py).
    counters_rollup_seconds: float = Field(default=5.0, gt=0)
    # ---- Guards of the sending number (docs/DELIVERABILITY.md) ----
    # Off only to measure what the guards cost (bench/queue.py): no look-ups, typing, quiet hours or cap.
    sending_guards: bool = True
    # Defaults of an organisation's sending rules (each organisation changes its own on the "الإرسال" page).
    typing_presence: bool = True
    quiet_hours_start: str | None = None  # "22:00"; unset = no quiet hours
    quiet_hours_end: str | None = None  # "08:00"
    days_off: str = ""  # comma-separated weekdays, e.g. "friday"
    daily_cap: int = Field(default=1000, ge=1, le=1_000_000)
    warmup: bool = True
    # Typing presence lasts from TYPING_MIN_SECONDS (a short text) to TYPING_MAX_SECONDS (a long one), +-jitter.
    typing_min_seconds: float = Field(default=1.0, ge=0)
    typing_max_seconds: float = Field(default=4.0, ge=0)
    typing_jitter_seconds: float = Field(default=0.5, ge=0)
    # "Is this number on WhatsApp?": answers kept this long, asked in batches of this many, retried after a failure.
    lookup_yes_days: float = Field(default=30.0, gt=0)
    lookup_no_days: float = Field(default=7.0, gt=0)
    lookup_batch_size: int = Field(default=50, ge=1, le=500)
    lookup_retry_seconds: float = Field(default=60.0, gt=0)
    # A newly linked number sends WARMUP_FIRST_DAY on its first day, times WARMUP_FACTOR each day, up to its cap.
    warmup_first_day: int = Field(default=50, ge=1)
    warmup_factor: float = Field(default=2.0, ge=1.0)
    # Urgent messages may go this far past the day's allowance (percent of it).
    urgent_reserve_percent: float = Field(default=10.0, ge=0, le=100)
    # Number health over HEALTH_WINDOW_DAYS; judged only past HEALTH_MIN_SENT messages; recomputed this often.
    health_window_days: int = Field(default=7, ge=1, le=90)
    health_min_sent: int = Field(default=20, ge=1)
    health_check_seconds: float = Field(default=60.0, gt=0)
    # Thresholds (a share from 0 to 1): amber at the first, red at the second (docs/DELIVERABILITY.md, sources).
    health_failure_amber: float = 0.10
    health_failure_red: float = 0.25
    health_opt_out_amber: float = 0.01
    health_opt_out_red: float = 0.03
    health_never_replied_amber: float = 0.90
    health_never_replied_red: float = 0.98
    health_first_contact_amber: float = 0.60
    health_first_contact_red: float = 0.90
    health_not_on_whatsapp_amber: float = 0.05
    health_not_on_whatsapp_red: float = 0.15
    # Alerts: a WhatsApp session out of `connected` this long is an incident; incidents are checked this often.
    alert_after_seconds: float = Field(default=300.0, ge=0)
    alert_check_seconds: float = Field(default=5.0, gt=0)
    # A pairing the phone accepted that does not complete within this time is explained, not left hanging.
    pairing_complete_seconds: float = Field(default=45.0, gt=0)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment != "development" and self.secret_key in ("", PLACEHOLDER_SECRET):
            raise ValueError("SECRET_KEY must be set to a real secret outside development")
        if self.environment != "development" and self.jwt_secret in ("", PLACEHOLDER_SECRET):
            raise ValueError("JWT_SECRET must not be a placeholder outside development")
        if self.whatsapp_backend == "simulator" and self.environment not in ("development", "test"):
            raise ValueError("WHATSAPP_BACKEND=simulator fakes WhatsApp and is refused outside ENVIRONMENT="
                             "development or test")
        if self.redis_url and not self.redis_url.startswith(REDIS_SCHEMES):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix:// (what Reflex accepts)")
        if (self.web_workers or 1) > 1 and not self.redis_url:
            raise ValueError("WEB_WORKERS above 1 needs REDIS_URL: the workers share each tab's state there")
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"DEFAULT_TIMEZONE {self.default_timezone!r} is not an IANA time zone") from exc
        return self

    @property
    def cookie_secure(self) -> bool:
        """Whether the sign-in cookie is Secure: SESSION_COOKIE_SECURE, else on in production."""
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.environment == "production"

    @property
    def docs_open(self) -> bool:
        """Whether /api/docs and /api/openapi.json are served: API_DOCS, else everywhere but production."""
        return self.api_docs if self.api_docs is not None else self.environment != "production"

    @property
    def origins(self) -> list[str]:
        """ALLOWED_ORIGINS as a list, so CORS can take it as is."""
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
