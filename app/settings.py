"""Settings from the environment (prefix ``PLANBRIDGE_``); defaults run on one box with SQLite."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from connectors.addresses import AddressPolicy, IPNetwork


class UnsafeSettings(ValueError):
    """The settings would run a production deployment unsafely; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLANBRIDGE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./planbridge.db"
    # Fernet key material for tracker credentials. Optional only for the embedded SQLite mode,
    # where a key is derived and stored beside the database file (see app.crypto).
    secret_key: SecretStr | None = None
    max_item_hours: float = Field(default=16.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Failed token checks per client address a minute before further failures answer 429
    # (app/security/throttle.py); a conformance run that sends bad tokens on purpose raises it.
    auth_failures_per_minute: int = Field(default=10, ge=1)
    strict_capacity: bool = False
    stale_after_days: int = Field(default=7, ge=1)
    allow_private_trackers: bool = False
    # Networks outbound requests may reach although private (comma-separated CIDRs, e.g. the
    # intranet Jira's "10.20.0.0/16"); narrower than allow_private_trackers.
    allowed_tracker_networks: Annotated[tuple[IPNetwork, ...], NoDecode] = ()
    public_url: str | None = None
    # Outbound e-mail (app/services/messages/smtp.py): smtp://user:pass@host:587 (STARTTLS),
    # smtps://... (implicit TLS); see the README for the plain-SMTP opt-in. Unset: no e-mail.
    smtp_url: SecretStr | None = None
    mail_from: str | None = None
    # A PEM file of the certificate authorities to trust for the mail server's TLS (a private CA
    # or a self-signed server); unset: the system's trust store. Verification is never turned off.
    smtp_ca_file: str | None = None
    # How long a personal check-in link works (app/services/checkin_links.py).
    checkin_link_days: int = Field(default=14, ge=1, le=90)
    embedded_worker: bool = True
    # Sync engine: pushes of one item are tried this many times before the link is marked dead;
    # a lease not renewed within lease seconds is taken over by another worker.
    sync_max_attempts: int = Field(default=8, ge=1)
    sync_lease_seconds: int = Field(default=120, ge=5)
    # Every link's tracker object is re-read at least this often (sync/audit.py), spread evenly:
    # deletions and objects that left the change poll are noticed without webhooks.
    audit_interval_hours: float = Field(default=24.0, gt=0)
    log_level: str = "INFO"
    # When set, GET /metrics needs "Authorization: Bearer <this>"; unset, it is open like /healthz.
    metrics_token: SecretStr | None = None
    # Where the memory connector keeps each memory://<name> tracker (a SQLite file per name), so a
    # demo survives a restart. Unset: ``<database file>.memory-tracker/`` beside a SQLite database,
    # process memory with PostgreSQL; ":memory:" always process memory (forgotten at restart).
    memory_tracker_dir: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def address_policy(self) -> AddressPolicy:
        """What tracker and notification requests may reach (connectors/outbound.py)."""
        return AddressPolicy(
            allow_private=self.allow_private_trackers,
            allowed_networks=self.allowed_tracker_networks,
        )

    @field_validator("allowed_tracker_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(
                ipaddress.ip_network(part.strip()) for part in value.split(",") if part.strip()
            )
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if not self.is_sqlite and self.secret_key is None:
            raise UnsafeSettings(
                "PLANBRIDGE_SECRET_KEY must be set when PLANBRIDGE_DATABASE_URL is not SQLite "
                "(tracker credentials are encrypted with it)"
            )
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 16:
            raise UnsafeSettings("PLANBRIDGE_SECRET_KEY must be at least 16 characters long")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
