"""Tracker connections, links between planbridge objects and tracker items, the webhook inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Index,
    LargeBinary,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    type_coerce,
)
from sqlmodel import Field, SQLModel, col

from app.db import UTCDateTime
from app.models.base import created_field, id_field, json_field, timestamp_field, workspace_field
from app.models.planning import ActionItem, Goal


class ConnectionState(StrEnum):
    active = "active"
    paused = "paused"  # auth failure or paused by a person; a readable reason is kept


class SyncState(StrEnum):
    """Where a link's tracker object stands; computed from the link by one SQL expression
    (``app.services.tracker_links.sync_state_of``), never stored."""

    pending = "pending"  # not created yet, or planbridge has changes the tracker lacks
    synced = "synced"  # the tracker object holds the item's latest revision
    failing = "failing"  # the last push failed; the engine tries again after a back-off
    dead = "dead"  # pushes gave up; waits for POST /api/v1/sync/dead/{id}/retry
    deleted = "deleted"  # the tracker object was deleted there; nothing is pushed any more


class Connection(SQLModel, table=True):
    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)  # entry-point name: "github", "jira", "trello", ...
    base_url: str = Field(max_length=500)
    # Fernet token of the JSON secrets (API token, PAT, Trello key/token); never returned.
    credentials_encrypted: str = ""
    # Non-secret connector config: status and identity mapping, project/repo/board, flavour.
    config: dict[str, Any] = json_field()
    scope: str | None = Field(default=None, max_length=300)
    poll_interval_seconds: int = 300
    webhook_secret_encrypted: str | None = None
    previous_webhook_secret_encrypted: str | None = None
    previous_webhook_secret_until: datetime | None = timestamp_field()
    state: ConnectionState = ConnectionState.active
    paused_reason: str | None = None
    cursor: dict[str, Any] | None = json_field(default_factory=lambda: None)
    next_poll_at: datetime | None = timestamp_field(index=True)
    last_pull_at: datetime | None = timestamp_field()
    last_pull_ok_at: datetime | None = timestamp_field()
    last_error: str | None = None
    consecutive_failures: int = 0
    backoff_until: datetime | None = timestamp_field()
    rate_limit_remaining: int | None = None
    rate_limit_limit: int | None = None
    rate_limit_reset_at: datetime | None = timestamp_field()
    leased_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = timestamp_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class ExternalLink(SQLModel, table=True):
    """An action item or goal <-> one tracker object; also the push work item and its lease."""

    __tablename__ = "external_link"
    # uq_external_link_connection_item, a partial index, is declared below with its predicate.
    __table_args__ = (
        UniqueConstraint("connection_id", "goal_id", name="uq_external_link_connection_goal"),
        Index("ix_external_link_connection_external", "connection_id", "external_id"),
        # Whether a kept scope still has a link (sync/link_scopes.py), without reading them all.
        Index("ix_external_link_connection_scope", "connection_id", "scope"),
        # The daily audit (sync/audit.py) takes a connection's links least recently audited first.
        Index("ix_external_link_connection_audited", "connection_id", "last_audited_at"),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    connection_id: uuid.UUID = Field(foreign_key="connection.id", index=True, ondelete="CASCADE")
    # "item" (an action item) or "goal" (the goal's mirror: epic, milestone, goal label).
    kind: str = Field(default="item", max_length=16)
    item_id: uuid.UUID | None = Field(
        default=None, foreign_key="action_item.id", index=True, ondelete="CASCADE"
    )
    goal_id: uuid.UUID | None = Field(
        default=None, foreign_key="goal.id", index=True, ondelete="CASCADE"
    )
    # The tracker target the object lives in (project, repository, board); None: the connection's.
    scope: str | None = Field(default=None, max_length=300)
    external_id: str | None = Field(default=None, max_length=200)
    key: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=1000)
    pushed_revision: int = 0
    # Values planbridge last wrote, to tell a person's edit in the tracker from our own.
    pushed_fields: dict[str, Any] = json_field()
    # Values last read from the tracker (status, and owned fields a person may have edited there).
    remote_fields: dict[str, Any] = json_field()
    # Set before a create is sent: a link with this set and no external_id is an uncertain create.
    create_started_at: datetime | None = timestamp_field()
    remote_updated_at: datetime | None = timestamp_field()
    last_synced_at: datetime | None = timestamp_field()
    last_error: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp_field(index=True)
    dead: bool = Field(default=False, index=True)
    tombstoned_at: datetime | None = timestamp_field()
    # The item was routed elsewhere (sync/routing.py): this link's object is closed out as moved
    # (then ``tombstoned_at`` is set) and a new link carries the item at its new target.
    moved_at: datetime | None = timestamp_field()
    # When the audit last re-read the object (sync/audit.py), and what to send next time so an
    # unchanged object costs nothing (a GitHub ETag).
    last_audited_at: datetime | None = timestamp_field()
    audit_validator: str | None = Field(default=None, max_length=200)
    leased_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = timestamp_field()
    created_at: datetime = created_field()


# Partial-index predicates, each written once: the index declares it and the queries it serves use
# the very expression, so neither can drift from the other.
LIVE_LINK: ColumnElement[bool] = col(ExternalLink.moved_at).is_(None)
"""A link its item has not moved away from (sync/routing.py); the others are history."""

# One live link per item and connection; links an item moved away from stay as history.
Index(
    "uq_external_link_connection_item",
    col(ExternalLink.connection_id),
    col(ExternalLink.item_id),
    unique=True,
    postgresql_where=LIVE_LINK,
    sqlite_where=LIVE_LINK,
)


def is_behind(owner_revision: Any) -> ColumnElement[bool]:
    """True for a link whose tracker object lacks something planbridge holds.

    That is: the object is not created yet, the item moved away from it (it is to be closed out),
    or ``owner_revision`` (the revision of the link's item or goal) is ahead of the one pushed.
    """
    return or_(
        col(ExternalLink.external_id).is_(None),
        col(ExternalLink.moved_at).is_not(None),
        owner_revision > col(ExternalLink.pushed_revision),
    )


def owner_revision() -> ColumnElement[int]:
    """The revision of the link's item or goal, looked up by primary key for each link."""
    item_revision = (
        select(col(ActionItem.revision))
        .where(col(ActionItem.id) == col(ExternalLink.item_id))
        .scalar_subquery()
    )
    goal_revision = (
        select(col(Goal.revision))
        .where(col(Goal.id) == col(ExternalLink.goal_id))
        .scalar_subquery()
    )
    return func.coalesce(item_revision, goal_revision)


def needs_push(owner_revision: Any) -> ColumnElement[bool]:
    """The one definition of "needs a push": a link neither dead nor deleted that ``is_behind``.

    The engine claims these links (when their back-off and their connection allow), the pending
    pushes of ``/metrics`` and of the connection health count them, and ``sync_state_of`` calls
    them pending (or failing, while a failed push waits for its next attempt).
    """
    return and_(
        col(ExternalLink.dead).is_(False),
        col(ExternalLink.tombstoned_at).is_(None),
        is_behind(owner_revision),
    )


class ConnectionScope(SQLModel, table=True):
    """A tracker target (project, repository, board) one of a connection's links was made in:
    the pull reads each, beside the connection's own. Kept by ``sync/link_scopes.py`` only, so a
    quiet pass reads a few rows instead of every link of the connection."""

    __tablename__ = "connection_scope"

    connection_id: uuid.UUID = Field(
        foreign_key="connection.id", primary_key=True, ondelete="CASCADE"
    )
    scope: str = Field(primary_key=True, max_length=300)


class WebhookDelivery(SQLModel, table=True):
    """The webhook inbox: one row per delivery id, so a redelivery is stored and processed once."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint(
            "connection_id", "delivery_id", name="uq_webhook_delivery_connection_delivery"
        ),
        # ix_webhook_delivery_pending and ix_webhook_delivery_dead, partial indexes, are declared
        # below with their predicates.
        # Every delivery row is written three times (stored, claimed, processed). Room left on
        # each page lets the claim (no indexed column changes) update in place (HOT) instead of
        # adding an entry to every index, and vacuuming after 2% dead rows, not 20%, keeps the
        # claim from wading through the dead entries of processed deliveries under load.
        {"postgresql_with": {"fillfactor": 70, "autovacuum_vacuum_scale_factor": 0.02}},
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    # No index of its own: the unique (connection_id, delivery_id) key leads with it, and every
    # index is written again each time a delivery row is (stored, claimed, processed).
    connection_id: uuid.UUID = Field(foreign_key="connection.id", ondelete="CASCADE")
    delivery_id: str = Field(max_length=200)
    received_at: datetime = created_field()
    headers: dict[str, Any] = json_field()
    body: bytes = Field(sa_type=LargeBinary)
    processed_at: datetime | None = timestamp_field()
    outcome: str | None = Field(default=None, max_length=200)
    attempts: int = 0
    # The error of the last failed attempt; after too many (or a body the connector cannot use)
    # the delivery is dead: processed_at is set and it waits for POST .../retry.
    last_error: str | None = None
    dead: bool = False
    leased_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = timestamp_field()


RECEIVED_DELIVERY_COLUMNS = (
    "id",
    "workspace_id",
    "connection_id",
    "delivery_id",
    "received_at",
    "headers",
    "body",
)
"""The columns a received delivery is stored with (app/services/inbox_store.py builds both of its
INSERT statements from them); every other column takes its default (attempts 0, not dead) or
NULL. A column added to the model without a default must be added here."""

PENDING_DELIVERY: ColumnElement[bool] = col(WebhookDelivery.processed_at).is_(None)
"""A stored webhook delivery not processed yet (a dead one counts as processed)."""
# The boolean column is its own condition (``WHERE dead``), as the index has always said it;
# wrapped as an expression, which Alembic's autogenerate renders (for the bare attribute
# scripts/regenerate_migration.py wrote invalid Python).
DEAD_DELIVERY: ColumnElement[bool] = type_coerce(col(WebhookDelivery.dead), Boolean)
"""A delivery the engine gave up on; it waits for POST .../retry."""

# Partial, on the order of the claim: PostgreSQL does not take its order from an index whose
# leading column is only tested IS NULL, so it sorted the whole backlog per claim.
Index(
    "ix_webhook_delivery_pending",
    col(WebhookDelivery.received_at),
    postgresql_where=PENDING_DELIVERY,
    sqlite_where=PENDING_DELIVERY,
)
# Dead deliveries are few: health, /metrics and the API count and list them from this.
Index(
    "ix_webhook_delivery_dead",
    col(WebhookDelivery.workspace_id),
    col(WebhookDelivery.connection_id),
    postgresql_where=DEAD_DELIVERY,
    sqlite_where=DEAD_DELIVERY,
)


class ConnectionWrite(SQLModel, table=True):
    """One paced tracker request per row: the sliding-window log shared by all workers.

    ``budget`` names the tracker budget the request counts against: ``connection:<id>`` for
    trackers that limit writes per connection (GitHub), a credential's budget for trackers that
    count every request per token (Trello), so two connections sharing a token share one budget.
    """

    __tablename__ = "connection_write"
    __table_args__ = (Index("ix_connection_write_budget_at", "budget", "at"),)

    id: uuid.UUID = id_field()
    # The connection that spent the slot (the health page counts by it).
    connection_id: uuid.UUID = Field(foreign_key="connection.id", index=True, ondelete="CASCADE")
    budget: str = Field(max_length=100)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
