"""Capacity: planned strategic hours per person and ISO week against what the person has.

Rules (also in the README, "Execution features"):

- Planned hours: each open item (todo, in progress, blocked) spreads its estimate evenly over the
  working days (Monday to Friday) from its start date (or, without one, the UTC date it was created)
  to its due date, both included. A start after the due date counts as starting on the due date. A
  span without a working day (a weekend) puts the whole estimate in the due date's week.
- Capacity per week: the person's declared ``weekly_strategic_hours``; without it, the elapsed
  hours of their focus blocks in that week, measured in real time in each block's time zone (a
  block across a daylight-saving change is an hour shorter or longer that week); without either,
  undeclared (None): nobody is reported over an undeclared capacity. A declared 0 means every
  planned hour is too much.
- Over capacity: planned hours exceed capacity by more than 0.01 h (float noise is not an overload).

How planned hours are computed: every item keeps its spread as three columns (first and last
working day, hours per working day: ``app.services.spread.item_load``), set by an ORM hook on
each insert and update, so no caller keeps them by hand. ``planned_hours`` sums, per person, the
rates starting and ending on each day in the database and runs the sum over the days in Python:
its cost grows with people x days, not with items (a plan of 100,000 items: two index reads).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import func, literal, select, union_all
from sqlmodel import Session, col

from app.db import utcnow
from app.errors import InvalidField
from app.models import ActionItem, Goal, Person
from app.models.execution import FocusBlock
from app.schemas.common import RuleWarning
from app.schemas.weeks import IsoWeek
from app.services.item_rules import OPEN_STATUSES, MeasuredWarning, register_item_checker
from app.services.progress import get_plan
from app.services.spread import spread_estimate
from app.settings import Settings

TOLERANCE_HOURS = 0.01


def block_hours_in_week(block: FocusBlock, week: IsoWeek) -> float:
    """Real elapsed hours of the block on its weekday of ``week`` (DST-aware)."""
    zone = ZoneInfo(block.timezone)
    day = week.monday + timedelta(days=block.weekday)
    start = datetime.combine(day, block.start_time, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day, block.end_time, tzinfo=zone).astimezone(UTC)
    return max(0.0, (end - start).total_seconds() / 3600.0)


def weekly_capacity(person: Person, blocks: Iterable[FocusBlock], week: IsoWeek) -> float | None:
    if person.weekly_strategic_hours is not None:
        return float(person.weekly_strategic_hours)
    blocks = list(blocks)
    if not blocks:
        return None
    return round(sum(block_hours_in_week(block, week) for block in blocks), 4)


def capacity_source(person: Person, blocks: list[FocusBlock]) -> str:
    if person.weekly_strategic_hours is not None:
        return "declared"
    return "focus_blocks" if blocks else "undeclared"


class WeekLoad(BaseModel):
    week: str
    planned_hours: float
    capacity_hours: float | None
    over_by: float  # 0 when within capacity or capacity undeclared


class PersonCapacity(BaseModel):
    person_id: uuid.UUID
    name: str
    capacity_source: str
    weeks: list[WeekLoad]


class PlanCapacity(BaseModel):
    plan_id: uuid.UUID
    weeks: list[str]
    people: list[PersonCapacity]
    overloaded: list[dict[str, object]]


@dataclass
class PersonLoad:
    person: Person
    blocks: list[FocusBlock] = field(default_factory=list)
    planned: dict[IsoWeek, float] = field(default_factory=lambda: defaultdict(float))

    def load(self, week: IsoWeek) -> WeekLoad:
        planned = round(self.planned.get(week, 0.0), 2)
        capacity = weekly_capacity(self.person, self.blocks, week)
        over = planned - capacity if capacity is not None else 0.0
        return WeekLoad(
            week=str(week),
            planned_hours=planned,
            capacity_hours=capacity,
            over_by=round(over, 2) if over > TOLERANCE_HOURS else 0.0,
        )


def person_loads(
    session: Session,
    workspace_id: uuid.UUID,
    person_ids: Iterable[uuid.UUID],
    *,
    with_items: bool = True,
    weeks: tuple[IsoWeek, IsoWeek] | None = None,
) -> dict[uuid.UUID, PersonLoad]:
    """Each person's planned hours per week over all their open items, for the weeks ``first``
    to ``last`` (``weeks``; without it, every week any of their open items lands in), or
    capacity only (``with_items=False``)."""
    ids = list(set(person_ids))
    if not ids:
        return {}
    people = session.scalars(
        select(Person).where(col(Person.workspace_id) == workspace_id, col(Person.id).in_(ids))
    )
    loads = {person.id: PersonLoad(person) for person in people}
    for block in session.scalars(
        select(FocusBlock).where(
            col(FocusBlock.workspace_id) == workspace_id, col(FocusBlock.person_id).in_(ids)
        )
    ):
        loads[block.person_id].blocks.append(block)
    if not with_items:
        return loads
    if weeks is None:
        first_day, last_day = session.execute(
            select(func.min(ActionItem.load_from), func.max(ActionItem.load_to)).where(
                *_open_items_of(workspace_id, ids)
            )
        ).one()
        if first_day is None:
            return loads
        weeks = (IsoWeek.of(first_day), IsoWeek.of(last_day))
    for owner_id, planned in planned_hours(session, workspace_id, list(loads), *weeks).items():
        loads[owner_id].planned.update(planned)
    return loads


def _open_items_of(workspace_id: uuid.UUID, person_ids: list[uuid.UUID]) -> tuple[Any, ...]:
    return (
        col(ActionItem.workspace_id) == workspace_id,
        col(ActionItem.owner_id).in_(person_ids),
        col(ActionItem.status).in_(list(OPEN_STATUSES)),
    )


def planned_hours(
    session: Session,
    workspace_id: uuid.UUID,
    person_ids: list[uuid.UUID],
    first: IsoWeek,
    last: IsoWeek,
) -> dict[uuid.UUID, dict[IsoWeek, float]]:
    """Per person, the planned hours of the weeks ``first`` to ``last`` from their open items'
    stored loads (``ActionItem.load_from``/``load_to``/``load_per_day``).

    A difference array per person: the database sums the daily rates that start on each day and
    those that end on each day (two grouped reads of the covering index ix_action_item_owner_load),
    and a running sum over the days gives each working day's load. The cost grows with people x
    days, not with items. Float sums in another order than item by item: figures agree with the
    item-by-item spread to far below the 0.01 h they are rounded to.
    """
    if not person_ids:
        return {}
    first_day, last_day = first.monday, last.monday + timedelta(days=4)
    overlapping = (
        *_open_items_of(workspace_id, person_ids),
        col(ActionItem.load_to) >= first_day,
        col(ActionItem.load_from) <= last_day,
    )
    starts = (
        select(
            col(ActionItem.owner_id),
            col(ActionItem.load_from),
            func.sum(ActionItem.load_per_day),
            literal(1.0),
        )
        .where(*overlapping)
        .group_by(col(ActionItem.owner_id), col(ActionItem.load_from))
    )
    ends = (
        select(
            col(ActionItem.owner_id),
            col(ActionItem.load_to),
            func.sum(ActionItem.load_per_day),
            literal(-1.0),
        )
        .where(*overlapping, col(ActionItem.load_to) < last_day)
        .group_by(col(ActionItem.owner_id), col(ActionItem.load_to))
    )
    deltas: dict[uuid.UUID, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for owner_id, day, rate, sign in session.execute(union_all(starts, ends)):
        # A rate ends after its last day; one that started before the range counts from its start.
        day = day + timedelta(days=1) if sign < 0 else max(day, first_day)
        deltas[owner_id][day] += float(sign) * float(rate or 0.0)
    result: dict[uuid.UUID, dict[IsoWeek, float]] = {}
    for owner_id, changes in deltas.items():
        planned: dict[IsoWeek, float] = {}
        rate = 0.0
        week, monday = first, first.monday
        while monday <= last_day:
            total = 0.0
            for offset in range(7):
                rate += changes.get(monday + timedelta(days=offset), 0.0)
                if abs(rate) < 1e-9:
                    rate = 0.0  # no item left: drop the float residue of the sums
                if offset < 5:
                    total += rate
            if total:
                planned[week] = total
            monday += timedelta(days=7)
            week = IsoWeek.of(monday)
        result[owner_id] = planned
    return result


def weeks_between(first: date, last: date) -> list[IsoWeek]:
    weeks: list[IsoWeek] = []
    week = IsoWeek.of(first)
    while week.monday <= last:
        weeks.append(week)
        week = week.shifted(1)
    return weeks


# The longest capacity view: five years of weeks.
MAX_CAPACITY_WEEKS = 261


def plan_capacity(
    session: Session,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    *,
    from_week: IsoWeek | None = None,
    to_week: IsoWeek | None = None,
) -> PlanCapacity:
    """Per owner of an open item in the plan: planned hours (all their open work) per week of the
    plan."""
    plan = get_plan(session, workspace_id, plan_id)
    first = from_week.monday if from_week else plan.start_date
    last = to_week.sunday if to_week else plan.end_date
    if last < first:
        raise InvalidField(["query", "to_week"], "to_week is before from_week")
    if (last - first).days // 7 + 1 > MAX_CAPACITY_WEEKS:
        # A range of centuries is half a million weeks: seconds of CPU for an answer nobody reads.
        raise InvalidField(
            ["query", "to_week"],
            f"A capacity view spans at most {MAX_CAPACITY_WEEKS} weeks: "
            "narrow from_week and to_week.",
        )
    weeks = weeks_between(first, last)
    owner_ids = session.scalars(
        select(col(ActionItem.owner_id))
        .join(Goal, col(Goal.id) == col(ActionItem.goal_id))
        .where(
            col(Goal.plan_id) == plan.id,
            col(ActionItem.workspace_id) == workspace_id,
            col(ActionItem.status).in_(list(OPEN_STATUSES)),
        )
        .distinct()
    ).all()
    loads = person_loads(session, workspace_id, owner_ids, weeks=(weeks[0], weeks[-1]))
    people: list[PersonCapacity] = []
    overloaded: list[dict[str, object]] = []
    for load in sorted(loads.values(), key=lambda entry: (entry.person.name, str(entry.person.id))):
        week_loads = [load.load(week) for week in weeks]
        people.append(
            PersonCapacity(
                person_id=load.person.id,
                name=load.person.name,
                capacity_source=capacity_source(load.person, load.blocks),
                weeks=week_loads,
            )
        )
        overloaded.extend(
            {
                "person_id": load.person.id,
                "name": load.person.name,
                "week": entry.week,
                "over_by": entry.over_by,
            }
            for entry in week_loads
            if entry.over_by > 0
        )
    return PlanCapacity(
        plan_id=plan.id, weeks=[str(week) for week in weeks], people=people, overloaded=overloaded
    )


def _over_capacity_warnings(
    item: ActionItem, item_weeks: list[IsoWeek], load: PersonLoad | None, settings: Settings
) -> list[RuleWarning]:
    if load is None:
        return []
    # Past weeks are past planning: no warning about them.
    this_week = IsoWeek.of(utcnow().date())
    warnings: list[RuleWarning] = []
    for week in item_weeks:
        entry = load.load(week)
        if entry.over_by > 0 and week >= this_week:
            message = (
                f"{load.person.name} is over capacity in {entry.week}: "
                f"{entry.planned_hours:g} h planned against {entry.capacity_hours:g} h "
                f"(over by {entry.over_by:g} h)."
            )
            warnings.append(
                MeasuredWarning(
                    code="over_capacity",
                    message=message,
                    field="estimate_hours",
                    key=f"over_capacity:{load.person.id}:{entry.week}",
                    amount=entry.over_by,
                    rejection=f"{message} (PLANBRIDGE_STRICT_CAPACITY is on)"
                    if settings.strict_capacity
                    else None,
                )
            )
    return warnings


def _item_weeks(item: ActionItem) -> list[IsoWeek]:
    start = item.start_date or item.created_at.astimezone(UTC).date()
    return sorted(spread_estimate(start, item.due_date, item.estimate_hours))


def warn_owner_over_capacity(
    session: Session, item: ActionItem, settings: Settings
) -> list[RuleWarning]:
    """Item checker: the owner's weeks this item lands in that are now over capacity."""
    if item.status not in OPEN_STATUSES:
        return []
    item_weeks = _item_weeks(item)
    # The item is flushed before the checkers run, so its own load is in the sums.
    load = person_loads(
        session, item.workspace_id, [item.owner_id], weeks=(item_weeks[0], item_weeks[-1])
    ).get(item.owner_id)
    return _over_capacity_warnings(item, item_weeks, load, settings)


def warn_owners_over_capacity(
    session: Session, items: Sequence[ActionItem], settings: Settings
) -> list[list[RuleWarning] | InvalidField]:
    """The same check for many flushed items: each owner's load read once, over all their weeks."""
    open_items = [item for item in items if item.status in OPEN_STATUSES]
    weeks = {id(item): _item_weeks(item) for item in open_items}
    loads: dict[uuid.UUID, PersonLoad] = {}
    by_workspace: dict[uuid.UUID, list[ActionItem]] = defaultdict(list)
    for item in open_items:
        by_workspace[item.workspace_id].append(item)
    for workspace_id, of_workspace in by_workspace.items():
        first = min(weeks[id(item)][0] for item in of_workspace)
        last = max(weeks[id(item)][-1] for item in of_workspace)
        owners = [item.owner_id for item in of_workspace]
        loads.update(person_loads(session, workspace_id, owners, weeks=(first, last)))
    results: list[list[RuleWarning] | InvalidField] = []
    for item in items:
        if item.status not in OPEN_STATUSES:
            results.append([])
            continue
        try:
            results.append(
                _over_capacity_warnings(item, weeks[id(item)], loads.get(item.owner_id), settings)
            )
        except InvalidField as exc:
            results.append(exc)
    return results


register_item_checker(warn_owner_over_capacity, batch=warn_owners_over_capacity)
