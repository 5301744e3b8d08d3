"""Response bodies of the weekly review (``GET /plans/{id}/reviews/{iso_week}``), also what the
dashboard, the Markdown rendering and the engine's review comments read."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field
from pydantic.dataclasses import dataclass

from app.models import ItemStatus

# No docstrings on these models: they would become descriptions in the OpenAPI document.


# An item as it stood at the week's cut (title and owner as they are now). A slotted pydantic
# dataclass, validated like a model: a large plan's review lists ~24,000 items, and a model is
# three objects each (itself, its __dict__, its set of fields) for the cyclic garbage collector
# to walk, a slotted dataclass one (full collections during a review: 26 -> 6 ms).
@dataclass(slots=True)
class ReviewItem:
    item_id: uuid.UUID
    title: str
    owner_id: uuid.UUID
    owner: str
    status: ItemStatus
    due_date: date
    estimate_hours: float


class GoalReview(BaseModel):
    goal_id: uuid.UUID
    title: str
    owner: str
    percent_start: float | None
    percent_end: float | None
    change: float | None
    done: list[ReviewItem]
    started: list[ReviewItem]
    newly_blocked: list[ReviewItem]
    overdue: list[ReviewItem]
    stale: list[ReviewItem]
    due_next_week: list[ReviewItem]


class ReviewCheckIn(BaseModel):
    owner_id: uuid.UUID
    owner: str
    goal_id: uuid.UUID
    goal: str
    confidence: str
    note: str
    blockers: str
    needs_help: bool
    late: bool = Field(description="Written after the week ended (accepted during the next week)")


class MissingCheckIn(BaseModel):
    owner_id: uuid.UUID
    owner: str
    goal_id: uuid.UUID
    goal: str


class Overload(BaseModel):
    person_id: uuid.UUID
    name: str
    planned_hours: float
    capacity_hours: float
    over_by: float


class WeeklyReview(BaseModel):
    plan_id: uuid.UUID
    plan: str
    iso_week: str
    week_start: date
    week_end: date
    complete: bool  # false while the week is still running
    needs_help: list[ReviewCheckIn]
    goals: list[GoalReview]
    over_capacity: list[Overload]
    check_ins: list[ReviewCheckIn]
    missing_check_ins: list[MissingCheckIn]
