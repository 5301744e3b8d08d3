"""Plans: planning cycles (name, start, end), e.g. "2027 Q1"."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field, StrictBool

from app.schemas.common import Name, Page, PublicModel, TrackerScope, WriteModel, left_unchanged


class PlanCreate(WriteModel):
    name: Name
    start_date: date
    end_date: date
    default_connection_id: uuid.UUID | None = Field(
        default=None,
        description="Where items go when neither the item nor its goal names a connection",
    )
    default_scope: TrackerScope | None = None
    post_reviews_to_trackers: StrictBool = Field(
        default=False,
        description="Post each week's review as a comment on every goal's tracker mirror",
    )
    owner_id: uuid.UUID | None = Field(
        default=None,
        description="Gets the weekly digest and is told last when an item stays overdue, "
        "blocked or stale",
    )


class PlanUpdate(WriteModel):
    name: Name = left_unchanged()
    start_date: date = left_unchanged()
    end_date: date = left_unchanged()
    default_connection_id: uuid.UUID | None = None
    default_scope: TrackerScope | None = None
    post_reviews_to_trackers: StrictBool = left_unchanged()
    owner_id: uuid.UUID | None = None


class PlanPublic(PublicModel):
    id: uuid.UUID
    name: str
    start_date: date
    end_date: date
    default_connection_id: uuid.UUID | None
    default_scope: str | None
    post_reviews_to_trackers: bool
    owner_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class PlanPage(Page[PlanPublic]):
    pass
