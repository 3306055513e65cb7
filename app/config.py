"""Configuration: one object, read from ``CALLFUNNEL_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.zones import ZoneName

MIN_PRODUCTION_KEY_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class RecordingsStorage(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class ConfigurationError(RuntimeError):
    """The service must not start with this configuration."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CALLFUNNEL_", env_file=".env", extra="ignore", frozen=True
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./callfunnel.db"
    bootstrap_admin_key: SecretStr | None = None
    # A bearer token for GET /metrics alone, so that Prometheus needs no admin key.
    metrics_token: SecretStr | None = None
    timezone: ZoneName = "Europe/Moscow"
    # Country assumed for phone numbers typed without a country code (leads, CSV imports).
    default_region: str = Field(default="RU", pattern=r"^[A-Z]{2}$")
    recordings_dir: Path = Path("./recordings")
    # Where recordings are kept: that folder (one host), or an S3-compatible bucket every host
    # reaches; with s3 the folder holds only the downloads in progress (its .partial spool).
    # S3 credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID…, a profile, a role).
    recordings_storage: RecordingsStorage = RecordingsStorage.LOCAL
    s3_bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    # Unset: AWS itself. Set (MinIO, Ceph, a cloud's S3 API): path-style addressing is used.
    s3_endpoint_url: str | None = Field(default=None, pattern=r"^https?://")
    s3_region: str | None = None
    # Key prefix inside the bucket ("callfunnel/recordings"), so the bucket can be shared.
    s3_prefix: str = Field(default="", pattern=r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/?)*$")
    # The recording worker: downloads at a time, how long a claim lasts before another worker
    # may take the job over (it must outlast the slowest download), and the idle poll period.
    recordings_worker_batch: int = Field(default=4, ge=1, le=64)
    recordings_claim_seconds: int = Field(default=900, ge=30)
    recordings_poll_seconds: float = Field(default=5.0, gt=0)
    # Recording downloads. Private addresses (and plain http) are for tests and closed networks.
    recordings_allow_private_hosts: bool = False
    recordings_max_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    recordings_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    recordings_read_timeout_seconds: float = Field(default=60.0, gt=0)
    # The whole download, redirects included; it must end before the claim lapses. Unset: two
    # thirds of the claim (600 s with the default claim).
    recordings_download_deadline_seconds: float | None = Field(default=None, gt=0)
    # How long a SQLite writer waits for the lock; concurrent requests queue behind each other.
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    max_webhook_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # For bench/ingest.py only: also serve POST /bench/bare/…, which reads the form and stores
    # nothing, as the ceiling that ingestion is measured against in the same process.
    bench_bare_endpoint: bool = False
    log_level: str = "INFO"
    log_json: bool = False
    # Addresses (or networks) of the reverse proxies in front of the service. Only a request whose
    # peer is one of them has its X-Forwarded-For read; anyone else could name any source address
    # and walk past an integration's allowed_ips. Comma-separated, e.g. "127.0.0.1,10.0.0.0/8".
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    # Signs the dashboard's session cookies. Production must set it (create_app refuses to start
    # without it); development generates one and keeps it in the database (app.dashboard.secret).
    secret_key: SecretStr | None = None
    # A dashboard session ends after this long without a request.
    session_idle_minutes: int = Field(default=480, ge=1)
    # Failed dashboard sign-ins allowed per client address and minute before 429.
    login_failures_per_minute: int = Field(default=5, ge=1)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "database_url must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @field_validator("s3_bucket", "s3_endpoint_url", "s3_region", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset ${VAR:-} on as an empty string.
        return None if value == "" else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            try:
                return tuple(ip_network(str(part), strict=False) for part in value)
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.recordings_storage is RecordingsStorage.S3 and self.s3_bucket is None:
            raise ValueError("CALLFUNNEL_RECORDINGS_STORAGE=s3 needs CALLFUNNEL_S3_BUCKET")
        return self

    @model_validator(mode="after")
    def _deadline_within_claim(self) -> Settings:
        deadline = self.recordings_download_deadline_seconds
        if deadline is not None and deadline >= self.recordings_claim_seconds:
            # Past the claim another worker takes the job over and downloads it a second time.
            raise ValueError(
                "CALLFUNNEL_RECORDINGS_DOWNLOAD_DEADLINE_SECONDS must be shorter than "
                "CALLFUNNEL_RECORDINGS_CLAIM_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_strong_secrets(self) -> Settings:
        if self.env is not Environment.PRODUCTION:
            return self
        for name, secret in (
            ("CALLFUNNEL_BOOTSTRAP_ADMIN_KEY", self.bootstrap_admin_key),
            ("CALLFUNNEL_SECRET_KEY", self.secret_key),
            ("CALLFUNNEL_METRICS_TOKEN", self.metrics_token),
        ):
            if secret is not None and len(secret.get_secret_value()) < MIN_PRODUCTION_KEY_LENGTH:
                raise ValueError(
                    f"{name} must be at least {MIN_PRODUCTION_KEY_LENGTH} characters in production"
                )
        return self

    @property
    def download_deadline_seconds(self) -> float:
        deadline = self.recordings_download_deadline_seconds
        return deadline if deadline is not None else self.recordings_claim_seconds * 2 / 3

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def startup_warnings(self) -> list[str]:
        warnings: list[str] = []
        if self.env is Environment.PRODUCTION and self.is_sqlite:
            warnings.append(
                "SQLite in production: one writer at a time and one machine only; "
                "use PostgreSQL (CALLFUNNEL_DATABASE_URL=postgresql+asyncpg://...)"
            )
        return warnings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


# Async although it never awaits: FastAPI runs a plain function in a worker thread, per request.
async def _settings_of_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings_of_app)]
