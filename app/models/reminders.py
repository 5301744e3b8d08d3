"""Weekly check-in reminders: when they are due (the cadence) and which were sent (once each).

A ``reminder_cadence`` row is a workspace's day and hour (``plan_id`` null) or a plan's own; no
row means the default, Friday 15:00, always in each person's own time zone.

A ``reminder`` row is the decision to remind one person for one ISO week, of one kind (the weekly
request or its follow-up). Its unique key (person, week, kind) is what makes "never twice" hold
with several workers, after a restart and when catching up after downtime: the row is inserted in
the same transaction as the messages it queues.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, workspace_field


class ReminderCadence(SQLModel, table=True):
    __tablename__ = "reminder_cadence"
    __table_args__ = (
        # One workspace-wide cadence; a plan's own is unique by its plan_id.
        Index(
            "uq_reminder_cadence_workspace",
            "workspace_id",
            unique=True,
            sqlite_where=text("plan_id IS NULL"),
            postgresql_where=text("plan_id IS NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    plan_id: uuid.UUID | None = Field(
        default=None, foreign_key="plan.id", unique=True, ondelete="CASCADE"
    )
    weekday: int = Field(ge=0, le=6)  # 0 = Monday, as date.weekday()
    hour: int = Field(ge=0, le=23)
    updated_at: datetime = created_field()


class ReminderKind(StrEnum):
    weekly = "weekly"
    follow_up = "follow_up"


class Reminder(SQLModel, table=True):
    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("person_id", "iso_week", "kind", name="uq_reminder_key"),
        Index("ix_reminder_workspace_week", "workspace_id", "iso_week"),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    person_id: uuid.UUID = Field(foreign_key="person.id", ondelete="CASCADE")
    iso_week: str = Field(max_length=8)
    kind: str = Field(max_length=16)  # a ReminderKind
    # The moment it was due (the person's local day and hour, in UTC) and when it was decided.
    due_at: datetime = created_field()
    created_at: datetime = created_field()
    # How many messages were queued (one per channel); 0: the person has no way to be reached.
    messages: int = 0
