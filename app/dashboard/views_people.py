"""What the People page shows: capacity per person and week, commitments, focus blocks.

Figures are the API's: each person's commitments (``GET /people/{id}/commitments``: open, overdue,
stale, due this week, planned hours against capacity for eight weeks) from the same service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Person, Plan
from app.models.execution import CalendarFeedToken, FocusBlock
from app.schemas.weeks import IsoWeek
from app.services.accountability import Commitments, commitments_of_people
from app.services.capacity import WeekLoad
from app.settings import Settings

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class HeatCell:
    load: WeekLoad

    @property
    def level(self) -> str:
        """A CSS class; the cell writes its figures too, so colour is never the only signal."""
        capacity = self.load.capacity_hours
        if self.load.over_by > 0:
            return "load-over"
        if capacity is None or capacity <= 0:
            return "load-none" if self.load.planned_hours == 0 else "load-mid"
        share = self.load.planned_hours / capacity
        if share >= 0.9:
            return "load-full"
        return "load-mid" if share >= 0.5 else "load-low"


@dataclass
class PersonRow:
    person: Person
    commitments: Commitments
    focus_blocks: list[str]
    feed_tokens: list[CalendarFeedToken]
    shown_weeks: int

    @property
    def cells(self) -> list[HeatCell]:
        return [HeatCell(load) for load in self.commitments.weeks[: self.shown_weeks]]


@dataclass
class PeopleOverview:
    weeks: list[str]
    people: list[PersonRow]
    plans_end: date | None


def weeks_before_plans_end(weeks: list[str], plans_end: date | None) -> int:
    """How many of the commitment weeks to show: those that start by the last plan's end.

    Weeks after every plan has ended hold no planned work; the current week always shows.
    """
    if plans_end is None:
        return len(weeks)
    return max(1, sum(1 for week in weeks if IsoWeek.parse(week).monday <= plans_end))


def describe_block(block: FocusBlock) -> str:
    start, end = block.start_time.strftime("%H:%M"), block.end_time.strftime("%H:%M")
    return f"{WEEKDAYS[block.weekday]} {start}-{end} ({block.timezone})"


def people_overview(db: Session, settings: Settings, workspace_id: uuid.UUID) -> PeopleOverview:
    people = db.exec(
        select(Person).where(Person.workspace_id == workspace_id).order_by(col(Person.name))
    ).all()
    blocks: dict[uuid.UUID, list[str]] = {}
    for block in db.exec(
        select(FocusBlock)
        .where(FocusBlock.workspace_id == workspace_id)
        .order_by(col(FocusBlock.weekday), col(FocusBlock.start_time))
    ).all():
        blocks.setdefault(block.person_id, []).append(describe_block(block))
    feeds: dict[uuid.UUID, list[CalendarFeedToken]] = {}
    for feed in db.exec(
        select(CalendarFeedToken)
        .where(
            CalendarFeedToken.workspace_id == workspace_id,
            col(CalendarFeedToken.revoked_at).is_(None),
        )
        .order_by(col(CalendarFeedToken.created_at))
    ).all():
        feeds.setdefault(feed.person_id, []).append(feed)
    # One batched call for everyone: per person it was two queries each (50 people, 100 queries).
    everyone = commitments_of_people(db, workspace_id, list(people), settings)
    all_weeks = [load.week for load in everyone[people[0].id].weeks] if people else []
    plans_end = db.exec(
        select(func.max(Plan.end_date)).where(Plan.workspace_id == workspace_id)
    ).one()
    shown = weeks_before_plans_end(all_weeks, plans_end)
    rows = [
        PersonRow(
            person=person,
            commitments=everyone[person.id],
            focus_blocks=blocks.get(person.id, []),
            feed_tokens=feeds.get(person.id, []),
            shown_weeks=shown,
        )
        for person in people
    ]
    return PeopleOverview(weeks=all_weeks[:shown], people=rows, plans_end=plans_end)
