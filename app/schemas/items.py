"""Action items: small owned steps towards a goal, each pushed to one tracker."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from app.models import EventSource, ItemStatus
from app.schemas.common import (
    Description,
    Hours,
    Page,
    PublicModel,
    RuleWarning,
    Title,
    TrackerScope,
    WriteModel,
    left_unchanged,
)
from app.schemas.tracker_links import TrackerLink


class ActionItemCreate(WriteModel):
    goal_id: uuid.UUID
    title: Title
    description: Description = ""
    owner_id: uuid.UUID
    due_date: date
    start_date: date | None = Field(
        default=None,
        description="When work starts (capacity spreads the estimate from here to due)",
    )
    estimate_hours: Hours = Field(description="Hours of work; at most max_item_hours (default 16)")
    status: ItemStatus = ItemStatus.todo
    connection_id: uuid.UUID | None = Field(
        default=None, description="Target tracker connection (else the goal's or plan's)"
    )
    scope: TrackerScope | None = Field(
        default=None, description="Jira project, GitHub owner/repo or Trello board/list"
    )


class ActionItemUpdate(WriteModel):
    goal_id: uuid.UUID = left_unchanged()
    title: Title = left_unchanged()
    description: Description = left_unchanged()
    owner_id: uuid.UUID = left_unchanged()
    due_date: date = left_unchanged()
    start_date: date | None = None
    estimate_hours: Hours = left_unchanged()
    status: ItemStatus = left_unchanged()
    connection_id: uuid.UUID | None = None
    scope: TrackerScope | None = None


class ActionItemPublic(PublicModel):
    id: uuid.UUID
    goal_id: uuid.UUID
    title: str
    description: str
    owner_id: uuid.UUID
    due_date: date
    start_date: date | None
    estimate_hours: float
    status: ItemStatus
    connection_id: uuid.UUID | None
    scope: str | None
    revision: int
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    done_at: datetime | None
    links: list[TrackerLink] = Field(
        default_factory=list,
        description="Where the item went: its tracker object (key, URL) and how its sync stands",
    )


class ActionItemWritten(ActionItemPublic):
    """A created or updated item, with the warnings its rules raised (empty when all is well)."""

    warnings: list[RuleWarning]


class ActionItemPage(Page[ActionItemPublic]):
    pass


class ItemEventPublic(PublicModel):
    id: uuid.UUID
    item_id: uuid.UUID | None
    goal_id: uuid.UUID | None
    kind: str
    source: EventSource
    actor: str | None
    field: str | None
    from_value: str | None
    to_value: str | None
    estimate_hours: float | None
    status: ItemStatus | None
    at: datetime


class ItemEventPage(Page[ItemEventPublic]):
    pass
