"""Nudges and weekly digests: what the worker decided to tell whom, once.

A ``nudge`` row is the decision to tell one person about one item for one reason at one stage of
the escalation (the item's owner, then the goal's owner, then the plan's owner). Its unique key
(item, reason, audience) is what makes "once per item and reason" hold with several workers and
after restarts. A decided nudge may be held (quiet hours, a weekend, the weekly cap) until
``hold_until``; the message itself goes through the outbox (``message_delivery``).

A ``plan_digest`` row marks a plan's weekly digest as sent for one ISO week (unique key).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, timestamp_field, workspace_field


class NudgeReason(StrEnum):
    overdue = "overdue"
    blocked = "blocked"  # blocked for more than 2 working days
    stale = "stale"  # app/services/staleness.py


class NudgeAudience(StrEnum):
    """The escalation order: each stage 3 working days after the one before, if nothing moved."""

    owner = "owner"
    goal_owner = "goal_owner"
    plan_owner = "plan_owner"


class NudgeState(StrEnum):
    held = "held"  # decided; waits for hold_until (quiet hours, weekend, weekly cap)
    queued = "queued"  # handed to the outbox
    resolved = "resolved"  # the reason was gone when it was due: nothing was sent
    opted_out = "opted_out"  # the person opted out of nudges
    unreachable = "unreachable"  # no channel to reach the person on
    skipped = "skipped"  # this stage's person was already told (e.g. owns the goal too)


class Nudge(SQLModel, table=True):
    __tablename__ = "nudge"
    __table_args__ = (
        UniqueConstraint("item_id", "reason", "audience", name="uq_nudge_key"),
        Index("ix_nudge_due", "state", "hold_until"),
        Index("ix_nudge_person_decided", "person_id", "decided_at"),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    item_id: uuid.UUID = Field(foreign_key="action_item.id", ondelete="CASCADE")
    reason: NudgeReason
    audience: NudgeAudience
    person_id: uuid.UUID = Field(foreign_key="person.id", ondelete="CASCADE")
    state: NudgeState = NudgeState.held
    created_at: datetime = created_field()
    hold_until: datetime = created_field()
    # When the nudge left ``held`` (queued, resolved, opted out, ...): the next stage counts
    # from it.
    decided_at: datetime | None = timestamp_field()


class PlanDigest(SQLModel, table=True):
    """A plan's weekly digest, sent once per ISO week."""

    __tablename__ = "plan_digest"
    __table_args__ = (UniqueConstraint("plan_id", "iso_week", name="uq_plan_digest_week"),)

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    plan_id: uuid.UUID = Field(foreign_key="plan.id", ondelete="CASCADE")
    iso_week: str = Field(max_length=8)
    recipients: int = 0
    created_at: datetime = created_field()
