"""What the People page shows: capacity per person and week, commitments, focus blocks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import ActionItem, Person
from app.models.execution import FocusBlock
from app.schemas.weeks import IsoWeek
from app.services.capacity import WeekLoad, person_loads
from app.services.item_rules import OPEN_STATUSES

WEEKS_SHOWN = 8
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
    cells: list[HeatCell]
    focus_blocks: list[str]
    open_items: list[ActionItem]
    overdue_items: list[ActionItem]
    stale_items: list[ActionItem]


@dataclass
class PeopleOverview:
    weeks: list[IsoWeek]
    people: list[PersonRow]


def describe_block(block: FocusBlock) -> str:
    start, end = block.start_time.strftime("%H:%M"), block.end_time.strftime("%H:%M")
    return f"{WEEKDAYS[block.weekday]} {start}-{end} ({block.timezone})"


def people_overview(
    db: Session, workspace_id: uuid.UUID, stale_after_days: int, today: date | None = None
) -> PeopleOverview:
    today = today or utcnow().date()
    first = IsoWeek.of(today)
    weeks = [first.shifted(offset) for offset in range(WEEKS_SHOWN)]
    people = db.exec(
        select(Person).where(Person.workspace_id == workspace_id).order_by(col(Person.name))
    ).all()
    loads = person_loads(db, workspace_id, [person.id for person in people])
    items = db.exec(
        select(ActionItem)
        .where(
            ActionItem.workspace_id == workspace_id,
            col(ActionItem.status).in_(list(OPEN_STATUSES)),
        )
        .order_by(col(ActionItem.due_date))
    ).all()
    stale_before = utcnow() - timedelta(days=stale_after_days)
    rows = []
    for person in people:
        load = loads[person.id]
        mine = [item for item in items if item.owner_id == person.id]
        rows.append(
            PersonRow(
                person=person,
                cells=[HeatCell(load.load(week)) for week in weeks],
                focus_blocks=[describe_block(block) for block in load.blocks],
                open_items=mine,
                overdue_items=[item for item in mine if item.due_date < today],
                stale_items=[item for item in mine if item.last_activity_at < stale_before],
            )
        )
    return PeopleOverview(weeks=weeks, people=rows)
