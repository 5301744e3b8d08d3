"""Request and response bodies of ``/api/v1/connections`` and ``/api/v1/sync``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, Field, Strict, StringConstraints

from app.models.sync import ConnectionState
from app.schemas.common import (
    URL_PATTERN,
    Name,
    NoNul,
    NotTextOrBoolean,
    Page,
    PublicModel,
    TrackerScope,
    Trimmed,
    WriteModel,
    left_unchanged,
)
from connectors.registry import available_kinds


def _installed_kinds(schema: dict[str, Any]) -> None:
    # Read when the OpenAPI document is built: the connectors installed in this process.
    schema["enum"] = available_kinds()


Kind = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32),
    NoNul,
    Field(json_schema_extra=_installed_kinds),
    Trimmed,
]
# Any scheme (each connector then says which schemes it takes), no credentials.
Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=URL_PATTERN),
    Trimmed,
]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=4000), NoNul]
# The bounds first: after the validator they would reach the schema as unknown keywords.
PollInterval = Annotated[int, Field(ge=30, le=86_400), NotTextOrBoolean]


class ConnectionCreate(WriteModel):
    kind: Kind = Field(description="An installed connector: github, jira, trello, ...")
    name: Name
    base_url: Url
    scope: TrackerScope = Field(description="Jira project key, GitHub owner/repo, Trello board id")
    credentials: dict[str, Secret] = Field(
        default_factory=dict,
        description="Secrets (token, email, key ...); encrypted, never returned",
    )
    config: dict[str, Any] = Field(
        default_factory=dict, description="Connector settings: status overrides, lists, flavour ..."
    )
    poll_interval_seconds: PollInterval = 300
    webhook_secret: Secret | None = Field(
        default=None, description="Shared webhook secret; generated when not given, shown once"
    )


class ConnectionUpdate(WriteModel):
    # Left out keeps the value; null is refused (none of them can be unset).
    name: Name = left_unchanged()
    base_url: Url = left_unchanged()
    scope: TrackerScope = left_unchanged()
    credentials: dict[str, Secret | None] | None = Field(
        default=None, description="Keys given replace the stored ones; null removes a key"
    )
    config: dict[str, Any] = left_unchanged()
    poll_interval_seconds: PollInterval = left_unchanged()


class ConnectionPublic(PublicModel):
    id: uuid.UUID
    kind: str
    name: str
    base_url: str
    scope: str | None
    config: dict[str, Any]
    poll_interval_seconds: int
    state: ConnectionState
    paused_reason: str | None
    credential_fields: list[str] = Field(description="Which secrets are set (values never shown)")
    webhook_path: str
    last_pull_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ConnectionCreated(ConnectionPublic):
    webhook_secret: str = Field(description="Shown once; configure it in the tracker's webhook")


class WebhookSecretRotated(WriteModel):
    webhook_secret: str
    previous_valid_until: datetime


class WebhookSecretRotate(WriteModel):
    # Strict: {"grace_hours": false} must not rotate with no grace at all.
    grace_hours: Annotated[float, Strict(), Field(ge=0, le=24 * 30)] = 24.0


class WebhookRegister(WriteModel):
    callback_url: Url | None = Field(
        default=None, description="Default: PLANBRIDGE_PUBLIC_URL + /webhooks/{connection id}"
    )


class WebhookRegistered(WriteModel):
    hook_id: str
    callback_url: str


class ConnectionHealth(WriteModel):
    connection_id: uuid.UUID
    state: ConnectionState
    paused_reason: str | None
    last_pull_at: datetime | None
    last_pull_ok_at: datetime | None
    lag_seconds: float | None = Field(description="Seconds since the last successful pull")
    last_error: str | None
    consecutive_failures: int
    backoff_until: datetime | None
    rate_limit: dict[str, Any]
    write_windows: list[dict[str, float | int]]
    webhook_deliveries_seen: int
    webhook_deliveries_pending: int
    webhook_deliveries_failing: int = Field(
        description="Pending deliveries whose last attempt failed; they are tried again"
    )
    webhook_deliveries_dead: int = Field(
        description="Deliveries given up (see GET /api/v1/sync/dead-deliveries); retry them there"
    )
    pending_pushes: int
    failing_pushes: int
    dead_pushes: int


class DeadLink(PublicModel):
    id: uuid.UUID
    connection_id: uuid.UUID
    kind: str
    item_id: uuid.UUID | None
    goal_id: uuid.UUID | None
    external_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime


class DeadDelivery(PublicModel):
    """A webhook delivery the engine gave up on, with the error of its last attempt."""

    id: uuid.UUID
    connection_id: uuid.UUID
    delivery_id: str
    received_at: datetime
    failed_at: datetime | None = Field(
        validation_alias=AliasChoices("processed_at", "failed_at"),
        description="When it was given up (None once it is retried)",
    )
    attempts: int
    last_error: str | None
    dead: bool


ConnectionPage = Page[ConnectionPublic]
DeadLinkPage = Page[DeadLink]
DeadDeliveryPage = Page[DeadDelivery]
