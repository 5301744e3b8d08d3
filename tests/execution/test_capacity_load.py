"""The stored daily loads of items, kept by the ORM hook, give the same planned hours as spreading
every open item's estimate week by week, through any sequence of changes."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, timedelta

from sqlmodel import Session, select

from app.models import ActionItem, ItemStatus
from app.schemas.weeks import IsoWeek
from app.services.capacity import planned_hours, spread_estimate
from app.services.item_rules import OPEN_STATUSES
from app.services.spread import item_load
from tests.execution.factories import (
    at,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
)


def slow_planned(session: Session, first: IsoWeek, last: IsoWeek) -> dict:  # type: ignore[type-arg]
    """The rule itself: every open item spread over its working days, summed per week."""
    planned: dict = defaultdict(lambda: defaultdict(float))  # type: ignore[type-arg]
    for item in session.exec(select(ActionItem)):
        if item.status not in OPEN_STATUSES:
            continue
        start = item.start_date or item.created_at.astimezone(UTC).date()
        for week, hours in spread_estimate(start, item.due_date, item.estimate_hours).items():
            if first <= week <= last:
                planned[item.owner_id][week] += hours
    return planned


def assert_same(session: Session, people: list, first: IsoWeek, last: IsoWeek) -> None:  # type: ignore[type-arg]
    fast = planned_hours(session, people[0].workspace_id, [p.id for p in people], first, last)
    slow = slow_planned(session, first, last)
    week = first
    while week <= last:
        for person in people:
            expected = slow.get(person.id, {}).get(week, 0.0)
            got = fast.get(person.id, {}).get(week, 0.0)
            assert abs(got - expected) < 1e-6, (person.name, str(week), got, expected)
        week = week.shifted(1)


def test_item_load_spans_working_days_only() -> None:
    # Saturday 9 to Tuesday 12 January 2027: Mon and Tue.
    assert item_load(date(2027, 1, 9), date(2027, 1, 12), 4.0) == (
        date(2027, 1, 11),
        date(2027, 1, 12),
        2.0,
    )
    # A weekend alone: the whole estimate on that week's Friday (same ISO week as the due date).
    assert item_load(date(2027, 1, 9), date(2027, 1, 10), 3.0) == (
        date(2027, 1, 8),
        date(2027, 1, 8),
        3.0,
    )
    # Start after due counts from the due date; a Sunday due date ends on Friday.
    assert item_load(date(2027, 1, 20), date(2027, 1, 17), 5.0) == (
        date(2027, 1, 15),
        date(2027, 1, 15),
        5.0,
    )
    assert item_load(date(2027, 1, 13), date(2027, 1, 17), 6.0) == (
        date(2027, 1, 13),
        date(2027, 1, 15),
        2.0,
    )


def test_loads_follow_every_change_of_owner_due_estimate_status_and_start(
    session: Session,
) -> None:
    rng = random.Random(11)
    workspace = make_workspace(session)
    people = [make_person(session, workspace.id, name, hours=8) for name in ("Ada", "Bo", "Cy")]
    goal = make_goal(session, make_plan(session, workspace.id), people[0])
    # Around the turn of 2026/2027, whose ISO year 2026 has a week 53.
    base = date(2026, 12, 14)
    items = []
    for number in range(30):
        start = base + timedelta(days=rng.randrange(0, 40))
        due = start + timedelta(days=rng.randrange(-3, 25))
        items.append(
            make_item(
                session,
                goal,
                rng.choice(people),
                title=f"I{number}",
                estimate=rng.choice([0.5, 1, 2, 3, 7, 16]),
                start=start if rng.random() < 0.6 else None,
                due=due,
                created=at(f"{start.isoformat()} 0{rng.randrange(10)}:00"),
            )
        )
    first, last = IsoWeek.parse("2026-W50"), IsoWeek.parse("2027-W10")
    assert_same(session, people, first, last)
    for _step in range(120):
        item = rng.choice(items)
        change = rng.choice(["owner", "due", "estimate", "status", "start"])
        if change == "owner":
            item.owner_id = rng.choice(people).id
        elif change == "due":
            item.due_date = base + timedelta(days=rng.randrange(-5, 60))
        elif change == "estimate":
            item.estimate_hours = rng.choice([0.25, 1, 4, 5, 12])
        elif change == "status":
            item.status = rng.choice(list(ItemStatus))
        else:
            item.start_date = (
                None if rng.random() < 0.3 else base + timedelta(days=rng.randrange(-10, 50))
            )
        session.add(item)
        session.flush()
        assert_same(session, people, first, last)
    assert any(
        week == IsoWeek.parse("2026-W53")
        for weeks in slow_planned(session, first, last).values()
        for week in weeks
    )


def test_planned_hours_of_a_range_count_items_begun_before_it(session: Session) -> None:
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id, "Ada", hours=8)
    goal = make_goal(session, make_plan(session, workspace.id), ada)
    # Mon 4 to Fri 22 January: 15 working days, 1 h each.
    make_item(session, goal, ada, estimate=15, start=date(2027, 1, 4), due=date(2027, 1, 22))
    week = IsoWeek.parse("2027-W02")
    assert planned_hours(session, workspace.id, [ada.id], week, week) == {ada.id: {week: 5.0}}
