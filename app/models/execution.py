"""Execution records: check-ins, focus time, calendar feed tokens, outbound notifications."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel, col

from app.db import UTCDateTime
from app.models.base import created_field, id_field, json_field, timestamp_field, workspace_field
from app.models.planning import ActionItem, ItemEvent


class Confidence(StrEnum):
    on_track = "on_track"
    at_risk = "at_risk"
    off_track = "off_track"


class CheckIn(SQLModel, table=True):
    """An owner's weekly word on a goal; a newer one for the week replaces it, kept as history."""

    __tablename__ = "check_in"
    __table_args__ = (
        # One current check-in per owner, goal and week; replaced ones keep their rows.
        Index(
            "uq_check_in_current",
            "workspace_id",
            "owner_id",
            "goal_id",
            "iso_week",
            unique=True,
            sqlite_where=text("replaced_at IS NULL"),
            postgresql_where=text("replaced_at IS NULL"),
        ),
        Index("ix_check_in_goal_week", "goal_id", "iso_week"),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    owner_id: uuid.UUID = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    goal_id: uuid.UUID = Field(foreign_key="goal.id", ondelete="CASCADE")
    iso_week: str = Field(max_length=8)  # "2027-W03"
    confidence: Confidence
    note: str = ""
    blockers: str = ""
    needs_help: bool = False
    created_at: datetime = created_field()
    replaced_at: datetime | None = timestamp_field()
    replaced_by_id: uuid.UUID | None = Field(default=None, foreign_key="check_in.id")


class FocusBlock(SQLModel, table=True):
    """A weekly protected slot for strategic work, in wall-clock times of an IANA time zone."""

    __tablename__ = "focus_block"

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    weekday: int = Field(ge=0, le=6)  # 0 = Monday, as date.weekday()
    start_time: time
    end_time: time
    timezone: str = Field(max_length=64)  # IANA name, e.g. "Europe/Berlin"
    created_at: datetime = created_field()


class CalendarFeedToken(SQLModel, table=True):
    """A per-person secret for the iCalendar feed URL; only its SHA-256 hash is stored."""

    __tablename__ = "calendar_feed_token"

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(unique=True, index=True, max_length=64)
    prefix: str = Field(max_length=16)
    created_at: datetime = created_field()
    revoked_at: datetime | None = timestamp_field()


class Subscription(SQLModel, table=True):
    """An outbound notification target.

    The secret is stored Fernet-encrypted (app.crypto), not hashed: planbridge must compute an
    HMAC with it for every delivery, so it has to be readable by the server.
    """

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    url: str = Field(max_length=1000)
    description: str = Field(default="", max_length=200)
    event_types: list[str] = json_field(default_factory=list)
    secret_encrypted: str
    # During a rotation the old secret also signs, until this time, so receivers can switch over.
    previous_secret_encrypted: str | None = None
    previous_secret_until: datetime | None = timestamp_field()
    active: bool = True
    created_at: datetime = created_field()


class DeliveryState(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # gave up after the maximum number of attempts


class NotificationDelivery(SQLModel, table=True):
    """One event for one subscription: the outbox row, its retry schedule and its log."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        Index("ix_notification_delivery_due", "state", "next_attempt_at"),
        Index("ix_notification_delivery_subscription", "subscription_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    subscription_id: uuid.UUID = Field(foreign_key="subscription.id", ondelete="CASCADE")
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str = Field(max_length=64)
    payload: dict[str, Any] = json_field()
    state: DeliveryState = DeliveryState.pending
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp_field()
    last_attempt_at: datetime | None = timestamp_field()
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()


class GoalHealthState(SQLModel, table=True):
    """The last health published per goal, so ``goal.health_changed`` fires only on a change."""

    __tablename__ = "goal_health_state"

    goal_id: uuid.UUID = Field(foreign_key="goal.id", primary_key=True, ondelete="CASCADE")
    workspace_id: uuid.UUID = workspace_field()
    health: str = Field(max_length=16)
    updated_at: datetime = created_field()


class FrozenGoalReview(SQLModel, table=True):
    """A goal's part of the weekly review of a finished week, computed once (stored and dropped by
    app/services/weekly_review/store.py).

    Only what the event history decides is kept: the percent at the week's start and end, and per
    list the items with their status, due date and estimate at the week's end. Titles, names,
    check-ins and capacities are read fresh with every review, as a recomputation would.
    """

    __tablename__ = "frozen_goal_review"
    __table_args__ = (Index("ix_frozen_goal_review_workspace_end", "workspace_id", "week_end"),)

    goal_id: uuid.UUID = Field(foreign_key="goal.id", primary_key=True, ondelete="CASCADE")
    iso_week: str = Field(primary_key=True, max_length=8)
    workspace_id: uuid.UUID = Field(foreign_key="workspace.id", ondelete="CASCADE")
    week_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    stale_after_days: int
    percent_start: float | None = None
    percent_end: float | None = None
    # Per list name ("done", "started", ...) its rows in list order, each a JSON array in the field
    # order of ListedItem (app/services/weekly_review/lists.py): id, title, owner id, status, due
    # date, estimate.
    lists: dict[str, Any] = json_field()
    computed_at: datetime = created_field()


class FrozenPlannedWeek(SQLModel, table=True):
    """Planned hours per person in a finished week, from their open items at its end."""

    __tablename__ = "frozen_planned_week"
    __table_args__ = (Index("ix_frozen_planned_week_workspace_end", "workspace_id", "week_end"),)

    workspace_id: uuid.UUID = Field(
        foreign_key="workspace.id", primary_key=True, ondelete="CASCADE"
    )
    iso_week: str = Field(primary_key=True, max_length=8)
    week_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    planned: dict[str, float] = json_field()  # person id -> hours
    computed_at: datetime = created_field()


# The predicates of the partial indexes below, as SQL text: a query that wants the index must
# repeat the predicate exactly (PostgreSQL matches a partial index only on a WHERE clause that
# implies it, and a bound parameter does not in a generic plan), so queries use these constants.
DUE_DATE_CHANGES = text("field = 'due_date'")
RENAMES = text("field IN ('title', 'owner_id')")

# Indexes on the planning tables that only the execution roll-ups need (declared here so the
# planning models stay about planning). Covering indexes: the roll-ups read these columns only.
Index(
    "ix_item_event_item_at_snapshot",
    col(ItemEvent.item_id),
    col(ItemEvent.at),
    col(ItemEvent.status),
    col(ItemEvent.estimate_hours),
    col(ItemEvent.goal_id),
)
Index(
    "ix_action_item_owner_due",
    col(ActionItem.owner_id),
    col(ActionItem.status),
    col(ActionItem.due_date),
)
# Progress per goal and status reads only this index (no table look-up per item).
Index(
    "ix_action_item_goal_rollup",
    col(ActionItem.goal_id),
    col(ActionItem.status),
    col(ActionItem.estimate_hours),
    col(ActionItem.created_at),
    col(ActionItem.id),
)
# Health reads only this index, no table row: per goal the open items' owners, due dates, last
# activity and hours (status prefix; done_at is null for them), and the velocity's finished hours
# in a window and last finish (status done, done_at range).
Index(
    "ix_action_item_goal_health",
    col(ActionItem.goal_id),
    col(ActionItem.status),
    col(ActionItem.done_at),
    col(ActionItem.owner_id),
    col(ActionItem.due_date),
    col(ActionItem.last_activity_at),
    col(ActionItem.estimate_hours),
)
# "Which items changed after an instant" is one range scan of this index, without reading events.
Index(
    "ix_item_event_workspace_at_goal_item",
    col(ItemEvent.workspace_id),
    col(ItemEvent.at),
    col(ItemEvent.goal_id),
    col(ItemEvent.item_id),
)
# The weekly review's items of a plan changed after its cut: per goal one range of this index.
Index(
    "ix_action_item_goal_last_event",
    col(ActionItem.goal_id),
    col(ActionItem.last_event_at),
)
# Due dates at a past instant: the item's first due-date change after it names the old value.
Index(
    "ix_item_event_due_changes",
    col(ItemEvent.workspace_id),
    col(ItemEvent.at),
    col(ItemEvent.item_id),
    sqlite_where=DUE_DATE_CHANGES,
    postgresql_where=DUE_DATE_CHANGES,
)
# Items renamed or reassigned since a review was stored (its rows show title and owner).
Index(
    "ix_item_event_renames",
    col(ItemEvent.workspace_id),
    col(ItemEvent.at),
    col(ItemEvent.item_id),
    sqlite_where=RENAMES,
    postgresql_where=RENAMES,
)
# Capacity reads each open item's load with two index range reads per person (starts and ends
# of the daily rates); covering, so no table row is visited.
Index(
    "ix_action_item_owner_load",
    col(ActionItem.owner_id),
    col(ActionItem.status),
    col(ActionItem.load_to),
    col(ActionItem.load_from),
    col(ActionItem.load_per_day),
)
