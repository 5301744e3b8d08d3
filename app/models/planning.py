"""People, plans, goals, action items and their append-only event history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, json_field, timestamp_field, workspace_field


class ItemStatus(StrEnum):
    todo = "todo"
    in_progress = "in_progress"
    blocked = "blocked"
    done = "done"
    dropped = "dropped"


class EventSource(StrEnum):
    api = "api"
    tracker = "tracker"
    engine = "engine"


class EventKind(StrEnum):
    """What an ``item_event`` records; stored as its text (``item_event.kind`` is a plain string
    column, so a new kind needs no migration)."""

    created = "created"
    status = "status"  # a new status, through the API or from the tracker
    planning = "planning"  # a planning field changed through the API
    drift = "drift"  # a person changed a planbridge-owned field in the tracker
    deleted = "deleted"  # deleted through the API (a tracker-side deletion is a sync fact)
    sync = "sync"  # an engine fact: created there, closed out after a move, rerouted, transferred
    review_posted = "review_posted"  # a week's review was posted on a goal's mirror (no item)


class Person(SQLModel, table=True):
    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    # None means "not declared": capacity then comes from the person's focus blocks, if any.
    weekly_strategic_hours: float | None = Field(default=None, ge=0)
    # One account per tracker kind, set explicitly (never guessed from the email):
    # {"jira": "<accountId>", "jira_dc": "<username>", "github": "<login>", "trello": "<member id>"}
    identities: dict[str, str] = json_field()
    # IANA name ("Europe/Berlin"); None: the workspace's default time zone.
    time_zone: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Plan(SQLModel, table=True):
    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    name: str = Field(max_length=200)
    start_date: date
    end_date: date
    # Where items of this plan go when neither the item nor its goal names a connection.
    default_connection_id: uuid.UUID | None = Field(
        default=None, foreign_key="connection.id", ondelete="SET NULL"
    )
    default_scope: str | None = Field(default=None, max_length=300)
    post_reviews_to_trackers: bool = False
    # Told last when an item of the plan stays overdue, blocked or stale; gets the weekly digest.
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Goal(SQLModel, table=True):
    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    plan_id: uuid.UUID = Field(foreign_key="plan.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=300)
    description: str = ""
    owner_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    target_date: date | None = None
    # Optional tracker mirror (Jira epic, GitHub milestone, Trello goal card).
    connection_id: uuid.UUID | None = Field(
        default=None, foreign_key="connection.id", ondelete="SET NULL"
    )
    scope: str | None = Field(default=None, max_length=300)
    revision: int = 1
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_item"
    __table_args__ = (Index("ix_action_item_goal_status", "goal_id", "status"),)

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    goal_id: uuid.UUID = Field(foreign_key="goal.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=300)
    description: str = ""
    owner_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    due_date: date
    # Capacity spreads the estimate over the working days from start (or creation) to due.
    start_date: date | None = None
    estimate_hours: float
    status: ItemStatus = Field(default=ItemStatus.todo, index=True)
    connection_id: uuid.UUID | None = Field(
        default=None, foreign_key="connection.id", ondelete="SET NULL"
    )
    scope: str | None = Field(default=None, max_length=300)
    # Bumped on every change made here (planning fields and status, through the API or a plan
    # document); the engine pushes while the link ``needs_push`` (app.models.sync).
    revision: int = 1
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
    last_activity_at: datetime = created_field()
    done_at: datetime | None = timestamp_field()
    # The time of the item's latest ItemEvent of any kind (None: no event yet), kept after each
    # flush by app.services.item_history (the latest, also for back-dated events): the
    # weekly review's "changed since the cut" is a test of this column, not an events probe.
    last_event_at: datetime | None = timestamp_field()
    # Capacity bookkeeping, set on every ORM insert and update by app.services.item_history:
    # the first and last working day the estimate spreads over, and its hours per working day.
    load_from: date | None = None
    load_to: date | None = None
    load_per_day: float | None = None


class ItemEvent(SQLModel, table=True):
    """Append-only history of status and planning changes: burn-up, reviews and audit read it."""

    __tablename__ = "item_event"
    __table_args__ = (
        Index("ix_item_event_item_at", "item_id", "at"),
        Index("ix_item_event_goal_at", "goal_id", "at"),
        Index("ix_item_event_workspace_at", "workspace_id", "at"),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    item_id: uuid.UUID | None = Field(
        default=None, foreign_key="action_item.id", ondelete="SET NULL"
    )
    goal_id: uuid.UUID | None = Field(default=None, foreign_key="goal.id", ondelete="SET NULL")
    # An EventKind, stored as its text.
    kind: str = Field(max_length=32)
    source: EventSource = EventSource.api
    actor: str | None = Field(default=None, max_length=200)
    field: str | None = Field(default=None, max_length=64)
    from_value: str | None = None
    to_value: str | None = None
    # Snapshot for history-based reports: the item's estimate and status right after the event.
    estimate_hours: float | None = None
    status: ItemStatus | None = None
    data: dict[str, Any] = json_field()
    at: datetime = created_field()
