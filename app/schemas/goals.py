"""Goals: what a plan wants to achieve, each with one owner."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from app.schemas.common import (
    Description,
    Page,
    PublicModel,
    RuleWarning,
    Title,
    TrackerScope,
    WriteModel,
    left_unchanged,
)
from app.schemas.tracker_links import TrackerLink


class GoalCreate(WriteModel):
    plan_id: uuid.UUID
    title: Title
    description: Description = ""
    owner_id: uuid.UUID
    target_date: date | None = None
    connection_id: uuid.UUID | None = Field(default=None, description="Optional tracker mirror")
    scope: TrackerScope | None = None


class GoalUpdate(WriteModel):
    plan_id: uuid.UUID = left_unchanged()
    title: Title = left_unchanged()
    description: Description = left_unchanged()
    owner_id: uuid.UUID = left_unchanged()
    target_date: date | None = None
    connection_id: uuid.UUID | None = None
    scope: TrackerScope | None = None


class GoalPublic(PublicModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    title: str
    description: str
    owner_id: uuid.UUID
    target_date: date | None
    connection_id: uuid.UUID | None
    scope: str | None
    revision: int
    created_at: datetime
    updated_at: datetime
    links: list[TrackerLink] = Field(
        default_factory=list,
        description="The goal's mirror in its tracker (epic, milestone, goal label) and its sync",
    )


class GoalWritten(GoalPublic):
    """A created or updated goal, with the warnings its rules raised."""

    warnings: list[RuleWarning]


class GoalPage(Page[GoalPublic]):
    pass
