"""Who is asked to check in, and what their week looks like.

An *owner of open work* in a week is a person who owns an open item (todo, in progress, blocked)
of a plan running that week, or owns a goal of such a plan that has an open item. The weekly
reminder goes to those who have no current check-in for the week; nudges and the People page ask
the same question here. A person's *week at a glance* is their open items in running plans: due in
the next 7 days (from their own today), overdue, and blocked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.models import ActionItem, CheckIn, Goal, ItemStatus, Person, Plan
from app.schemas.weeks import IsoWeek
from app.services.item_rules import OPEN_STATUSES
from app.services.time_zones import local_today

GLANCE_DAYS = 7


def running_plan_ids(workspace_id: uuid.UUID, week: IsoWeek) -> SelectOfScalar[uuid.UUID]:
    """The plans of the workspace whose dates overlap the week (a subquery)."""
    return select(col(Plan.id)).where(
        col(Plan.workspace_id) == workspace_id,
        col(Plan.start_date) <= week.sunday,
        col(Plan.end_date) >= week.monday,
    )


def _open_items_in(workspace_id: uuid.UUID, week: IsoWeek) -> SelectOfScalar[ActionItem]:
    running_goals = select(col(Goal.id)).where(
        col(Goal.plan_id).in_(running_plan_ids(workspace_id, week))
    )
    return select(ActionItem).where(
        col(ActionItem.workspace_id) == workspace_id,
        col(ActionItem.status).in_(list(OPEN_STATUSES)),
        col(ActionItem.goal_id).in_(running_goals),
    )


def open_work_plans(
    session: Session, workspace_id: uuid.UUID, week: IsoWeek
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Per owner of open work in ``week``, the running plans they own open work in."""
    open_items = _open_items_in(workspace_id, week).subquery()
    goal_plan = select(col(Goal.id), col(Goal.plan_id), col(Goal.owner_id)).subquery()
    rows = session.exec(
        select(open_items.c.owner_id, goal_plan.c.plan_id, goal_plan.c.owner_id).join(
            goal_plan, goal_plan.c.id == open_items.c.goal_id
        )
    ).all()
    plans: dict[uuid.UUID, set[uuid.UUID]] = {}
    for item_owner, plan_id, goal_owner in rows:
        plans.setdefault(item_owner, set()).add(plan_id)
        plans.setdefault(goal_owner, set()).add(plan_id)
    return plans


def owners_of_open_work(
    session: Session, workspace_id: uuid.UUID, week: IsoWeek
) -> list[uuid.UUID]:
    """Ids of the people who own open work in a plan running during ``week``."""
    return sorted(open_work_plans(session, workspace_id, week))


def checked_in_people(
    session: Session, workspace_id: uuid.UUID, weeks: list[IsoWeek]
) -> set[tuple[uuid.UUID, str]]:
    """(person id, week) for every current check-in of the workspace in one of ``weeks``."""
    rows = session.exec(
        select(col(CheckIn.owner_id), col(CheckIn.iso_week))
        .where(
            col(CheckIn.workspace_id) == workspace_id,
            col(CheckIn.iso_week).in_([str(week) for week in weeks]),
            col(CheckIn.replaced_at).is_(None),
        )
        .distinct()
    ).all()
    return {(owner_id, iso_week) for owner_id, iso_week in rows}


@dataclass
class OwnerWeek:
    """A person's week at a glance, as of their own ``today``."""

    person: Person
    today: date
    due_soon: list[ActionItem] = field(default_factory=list)
    overdue: list[ActionItem] = field(default_factory=list)
    blocked: list[ActionItem] = field(default_factory=list)

    @property
    def week(self) -> IsoWeek:
        return IsoWeek.of(self.today)

    @property
    def is_empty(self) -> bool:
        return not (self.due_soon or self.overdue or self.blocked)


def _sort(week: OwnerWeek) -> OwnerWeek:
    for items in (week.due_soon, week.overdue, week.blocked):
        items.sort(key=lambda item: (item.due_date, item.title, item.id))
    return week


def owner_weeks(
    session: Session, people: list[Person], now: datetime
) -> dict[uuid.UUID, OwnerWeek]:
    """The week at a glance of each person (of one workspace), with one query for their items."""
    if not people:
        return {}
    todays = {person.id: local_today(session, person, now) for person in people}
    weeks = {person.id: OwnerWeek(person=person, today=todays[person.id]) for person in people}
    workspace_id = people[0].workspace_id
    # Plans running in any of the people's local weeks; each item is then kept per its owner's.
    first, last = min(todays.values()), max(todays.values())
    spanning = IsoWeek.of(first)
    items = list(
        session.exec(
            _open_items_in(workspace_id, spanning).where(col(ActionItem.owner_id).in_(list(weeks)))
        ).all()
    )
    if IsoWeek.of(last) != spanning:
        seen = {item.id for item in items}
        items += [
            item
            for item in session.exec(
                _open_items_in(workspace_id, IsoWeek.of(last)).where(
                    col(ActionItem.owner_id).in_(list(weeks))
                )
            ).all()
            if item.id not in seen
        ]
    for item in items:
        week = weeks[item.owner_id]
        if item.status == ItemStatus.blocked:
            week.blocked.append(item)
        if item.due_date < week.today:
            week.overdue.append(item)
        elif item.due_date < week.today + timedelta(days=GLANCE_DAYS):
            week.due_soon.append(item)
    return {person_id: _sort(week) for person_id, week in weeks.items()}


def owner_week(session: Session, person: Person, now: datetime) -> OwnerWeek:
    """One person's week at a glance: due in the next 7 days, overdue, blocked."""
    return owner_weeks(session, [person], now)[person.id]
