"""The goal hours ledger against a slow replay of the event history.

``hours_at`` (the fast path: hours now minus the ledger rows after an instant) must give, for any
instant, what replaying every item's latest event snapshot at that instant gives. The replay lives
here, not in app/: it is the reference the ledger is checked against.
"""

from __future__ import annotations

import random
import threading
import time as clock
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.models import ActionItem, Goal, GoalHoursChange, ItemEvent, ItemStatus, hours_ledger
from app.services.items import create_item, delete_item, update_item
from app.services.progress import current_hours, hours_at
from app.settings import Settings
from tests.execution.factories import (
    at,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
)

SETTINGS = Settings(database_url="sqlite://")
Figures = dict[uuid.UUID, tuple[float, float]]


def replayed_hours(session: Session, workspace_id: uuid.UUID, instant: datetime) -> Figures:
    """Reference: per goal (hours not dropped, hours done) from each item's latest snapshot at or
    before ``instant``; items without any snapshot event count as they are now."""
    events = session.scalars(
        select(ItemEvent)
        .where(col(ItemEvent.workspace_id) == workspace_id, col(ItemEvent.status).is_not(None))
        .order_by(col(ItemEvent.at))
    ).all()
    latest: dict[str, ItemEvent] = {}
    with_history: set[str] = set()
    for event in events:
        # A deleted item's events lose their item_id; the id is kept in ``data``.
        key = str(event.item_id) if event.item_id else str(event.data["item_id"])
        with_history.add(key)
        if event.at <= instant:
            latest[key] = event
    figures: dict[uuid.UUID, list[float]] = {}
    for event in latest.values():
        if event.kind == "deleted" or event.goal_id is None or event.status == ItemStatus.dropped:
            continue
        entry = figures.setdefault(event.goal_id, [0.0, 0.0])
        entry[0] += event.estimate_hours or 0.0
        if event.status == ItemStatus.done:
            entry[1] += event.estimate_hours or 0.0
    for item in session.scalars(
        select(ActionItem).where(col(ActionItem.workspace_id) == workspace_id)
    ):
        if str(item.id) in with_history or item.status == ItemStatus.dropped:
            continue
        entry = figures.setdefault(item.goal_id, [0.0, 0.0])
        entry[0] += item.estimate_hours
        entry[1] += item.estimate_hours if item.status == ItemStatus.done else 0.0
    return {goal: (round(total, 6), round(done, 6)) for goal, (total, done) in figures.items()}


def ledger_hours(session: Session, workspace_id: uuid.UUID, instant: datetime) -> Figures:
    """The fast path, as progress uses it."""
    goal_ids = select(col(Goal.id)).where(col(Goal.workspace_id) == workspace_id)
    now = {goal: entry[0] for goal, entry in current_hours(session, workspace_id, goal_ids).items()}
    before = hours_at(session, workspace_id, goal_ids, now, instant)
    figures = {
        goal: (round(hours.total, 6), round(hours.done, 6)) for goal, hours in before.items()
    }
    return {goal: hours for goal, hours in figures.items() if hours != (0.0, 0.0)}


def assert_same_at(session: Session, workspace_id: uuid.UUID, instants: list[datetime]) -> None:
    session.flush()
    for instant in instants:
        expected = {
            goal: hours
            for goal, hours in replayed_hours(session, workspace_id, instant).items()
            if hours != (0.0, 0.0)
        }
        assert ledger_hours(session, workspace_id, instant) == expected, instant


def change(
    session: Session, item: ActionItem, kind: str, when: datetime, **values: Any
) -> ItemEvent:
    """Set ``values`` on the row and append the event with its snapshot, as every writer does."""
    for name, value in values.items():
        setattr(item, name, value)
    if kind != "deleted":
        item.last_activity_at = when
        session.add(item)
    event = ItemEvent(
        workspace_id=item.workspace_id,
        item_id=item.id,
        goal_id=item.goal_id,
        kind=kind,
        estimate_hours=item.estimate_hours,
        status=item.status,
        data={"item_id": str(item.id)},
        at=when,
    )
    session.add(event)
    session.flush()
    return event


def created(session: Session, goal: Goal, owner: Any, when: datetime, **values: Any) -> ActionItem:
    item = make_item(session, goal, owner, created=when, **values)
    # The factory's created event carries no data; add the id for the reference's sake.
    for event in session.scalars(select(ItemEvent).where(col(ItemEvent.item_id) == item.id)):
        event.data = {"item_id": str(item.id)}
        session.add(event)
    session.flush()
    return item


def hourly(start: str, count: int) -> list[datetime]:
    first = at(start)
    return [first + timedelta(hours=6 * step) for step in range(count)]


def test_goal_move_takes_the_hours_from_the_old_goal_to_the_new(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    plan = make_plan(session, workspace.id)
    first, second = make_goal(session, plan, owner, "A"), make_goal(session, plan, owner, "B")
    item = created(session, first, owner, at("2027-01-05 09:00"), estimate=5)
    change(session, item, "status", at("2027-01-06 09:00"), status=ItemStatus.done)
    change(session, item, "planning", at("2027-01-08 09:00"), goal_id=second.id)
    assert ledger_hours(session, workspace.id, at("2027-01-07 00:00")) == {first.id: (5.0, 5.0)}
    assert ledger_hours(session, workspace.id, at("2027-01-09 00:00")) == {second.id: (5.0, 5.0)}
    assert_same_at(session, workspace.id, hourly("2027-01-04 00:00", 24))


def test_estimate_change_and_status_back_and_forth(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    item = created(session, goal, owner, at("2027-01-05 09:00"), estimate=4)
    other = created(session, goal, owner, at("2027-01-05 10:00"), estimate=2)
    change(session, item, "status", at("2027-01-06 09:00"), status=ItemStatus.done)
    change(session, item, "planning", at("2027-01-06 15:00"), estimate_hours=6.5)
    change(session, item, "status", at("2027-01-07 09:00"), status=ItemStatus.in_progress)
    change(session, item, "status", at("2027-01-08 09:00"), status=ItemStatus.done)
    change(session, item, "status", at("2027-01-08 21:00"), status=ItemStatus.dropped)
    change(session, item, "planning", at("2027-01-09 09:00"), estimate_hours=1.5)
    change(session, item, "status", at("2027-01-10 09:00"), status=ItemStatus.todo)
    change(session, other, "status", at("2027-01-09 12:00"), status=ItemStatus.blocked)
    assert ledger_hours(session, workspace.id, at("2027-01-07 00:00")) == {goal.id: (8.5, 6.5)}
    assert ledger_hours(session, workspace.id, at("2027-01-09 00:00")) == {goal.id: (2.0, 0.0)}
    assert_same_at(session, workspace.id, hourly("2027-01-04 00:00", 30))


def test_deleted_item_counts_until_its_deletion(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    item = created(session, goal, owner, at("2027-01-05 09:00"), estimate=3)
    created(session, goal, owner, at("2027-01-05 09:00"), estimate=1)
    change(session, item, "status", at("2027-01-06 09:00"), status=ItemStatus.done)
    change(session, item, "deleted", at("2027-01-08 09:00"))
    session.delete(item)
    session.flush()
    assert ledger_hours(session, workspace.id, at("2027-01-07 00:00")) == {goal.id: (4.0, 3.0)}
    assert ledger_hours(session, workspace.id, at("2027-01-09 00:00")) == {goal.id: (1.0, 0.0)}
    assert_same_at(session, workspace.id, hourly("2027-01-04 00:00", 24))


def test_item_created_and_finished_inside_the_window(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    created(session, goal, owner, at("2027-01-04 09:00"), estimate=2, status=ItemStatus.done)
    item = created(session, goal, owner, at("2027-01-15 09:00"), estimate=4)
    change(session, item, "status", at("2027-01-16 09:00"), status=ItemStatus.done)
    cut = at("2027-01-13 12:00")  # a week before 2027-01-20 12:00
    assert ledger_hours(session, workspace.id, cut) == {goal.id: (2.0, 2.0)}
    assert_same_at(session, workspace.id, [cut, *hourly("2027-01-15 00:00", 12)])


def test_items_without_history_count_the_same_at_every_instant(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    item = ActionItem(
        workspace_id=workspace.id,
        goal_id=goal.id,
        owner_id=owner.id,
        title="Imported",
        due_date=date(2027, 1, 20),
        estimate_hours=3,
        status=ItemStatus.done,
    )
    session.add(item)
    session.flush()
    assert ledger_hours(session, workspace.id, at("2020-01-01 00:00")) == {goal.id: (3.0, 3.0)}
    # Its first snapshot event then says it was not there before.
    change(session, item, "status", at("2027-01-10 09:00"), status=ItemStatus.todo)
    assert_same_at(session, workspace.id, hourly("2027-01-09 00:00", 8))


def test_backdated_events_are_placed_in_the_history_by_time(session: Session) -> None:
    """Scripted histories insert events with fixed times, not always in time order."""
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    item = created(session, goal, owner, at("2027-01-05 09:00"), estimate=4)
    change(session, item, "status", at("2027-01-15 09:00"), status=ItemStatus.done)
    # Inserted later, dated earlier: the item was dropped on the 10th, and done again on the 15th.
    late = ItemEvent(
        workspace_id=workspace.id,
        item_id=item.id,
        goal_id=goal.id,
        kind="status",
        estimate_hours=4,
        status=ItemStatus.dropped,
        data={"item_id": str(item.id)},
        at=at("2027-01-10 09:00"),
    )
    earlier = ItemEvent(
        workspace_id=workspace.id,
        item_id=item.id,
        goal_id=goal.id,
        kind="planning",
        estimate_hours=4,
        status=ItemStatus.in_progress,
        data={"item_id": str(item.id)},
        at=at("2027-01-08 09:00"),
    )
    session.add_all([late, earlier])  # one flush, out of time order
    session.flush()
    assert ledger_hours(session, workspace.id, at("2027-01-12 00:00")) == {}
    assert ledger_hours(session, workspace.id, at("2027-01-09 00:00")) == {goal.id: (4.0, 0.0)}
    assert_same_at(session, workspace.id, hourly("2027-01-04 00:00", 48))


def test_random_histories_match_the_replay(session: Session) -> None:
    rng = random.Random(11)
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    plan = make_plan(session, workspace.id)
    goals = [make_goal(session, plan, owner, f"G{number}") for number in range(3)]
    items: list[ActionItem] = []
    moment = at("2027-01-04 08:00")
    for _ in range(120):
        moment += timedelta(minutes=rng.randrange(30, 600))
        operation = rng.random()
        if not items or operation < 0.15:
            status = rng.choice(list(ItemStatus))
            goal = rng.choice(goals)
            items.append(
                created(
                    session, goal, owner, moment, estimate=rng.choice([1, 2.5, 4]), status=status
                )
            )
            continue
        item = rng.choice(items)
        if operation < 0.2:
            change(session, item, "deleted", moment)
            session.delete(item)
            items.remove(item)
        elif operation < 0.35:
            change(session, item, "planning", moment, goal_id=rng.choice(goals).id)
        elif operation < 0.5:
            change(session, item, "planning", moment, estimate_hours=rng.choice([0.5, 3, 8]))
        elif operation < 0.55:
            change(session, item, "drift", moment)  # a snapshot that changes nothing
        else:
            change(session, item, "status", moment, status=rng.choice(list(ItemStatus)))
    instants = [at("2027-01-04 00:00") + timedelta(hours=7 * step) for step in range(100)]
    assert_same_at(session, workspace.id, instants)
    # Only changes are written: far fewer ledger rows than snapshot events.
    ledger_rows = session.scalars(
        select(GoalHoursChange).where(col(GoalHoursChange.workspace_id) == workspace.id)
    ).all()
    assert ledger_rows
    assert all(row.total_hours or row.done_hours for row in ledger_rows)


def test_the_services_write_the_ledger(session: Session) -> None:
    """Create, a multi-field update (goal, estimate and status in one request), delete."""
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id, hours=None)
    plan = make_plan(session, workspace.id)
    first, second = make_goal(session, plan, owner, "A"), make_goal(session, plan, owner, "B")
    values = {
        "goal_id": first.id,
        "owner_id": owner.id,
        "title": "Write it",
        "due_date": date(2027, 2, 1),
        "estimate_hours": 4.0,
    }
    item, _ = create_item(session, workspace.id, values, actor="test", settings=SETTINGS)
    kept, _ = create_item(
        session, workspace.id, {**values, "estimate_hours": 2.0}, actor="test", settings=SETTINGS
    )
    created_at = session.scalars(
        select(col(ItemEvent.at)).where(col(ItemEvent.item_id) == item.id)
    ).one()
    update_item(
        session,
        workspace.id,
        item.id,
        {"goal_id": second.id, "estimate_hours": 6.0, "status": ItemStatus.done},
        actor="test",
        settings=SETTINGS,
    )
    moved_at = max(
        session.scalars(select(col(ItemEvent.at)).where(col(ItemEvent.item_id) == item.id))
    )
    delete_item(session, workspace.id, kept.id, actor="test")
    session.flush()
    deleted_at = session.scalars(
        select(col(ItemEvent.at)).where(col(ItemEvent.kind) == "deleted")
    ).one()
    before_all = created_at - timedelta(seconds=1)
    instants = [before_all, created_at, moved_at, deleted_at, deleted_at + timedelta(seconds=1)]
    assert ledger_hours(session, workspace.id, before_all) == {}
    assert ledger_hours(session, workspace.id, moved_at - timedelta(microseconds=1)) == {
        first.id: (6.0, 0.0)
    }
    assert ledger_hours(session, workspace.id, deleted_at - timedelta(microseconds=1)) == {
        first.id: (2.0, 0.0),
        second.id: (6.0, 6.0),
    }
    assert ledger_hours(session, workspace.id, deleted_at) == {second.id: (6.0, 6.0)}
    assert ledger_hours(session, workspace.id, deleted_at) == {second.id: (6.0, 6.0)}
    assert_same_at(session, workspace.id, instants)


def test_concurrent_writers_on_one_item_chain_their_changes(engine: Engine) -> None:
    """A second transaction appending to an item waits for the first, then builds on its event.

    The second writer adds an event without touching the item's row (as ``deleted`` events do),
    so nothing but the ledger's own row lock orders it after the first.
    """
    with Session(engine, expire_on_commit=False) as setup:
        workspace = make_workspace(setup)
        owner = make_person(setup, workspace.id)
        goal = make_goal(setup, make_plan(setup, workspace.id), owner)
        item = created(setup, goal, owner, at("2027-01-05 09:00"), estimate=4)
        setup.commit()
    first = Session(engine, expire_on_commit=False)
    row = first.get(ActionItem, item.id)
    assert row is not None
    change(first, row, "status", at("2027-01-06 09:00"), status=ItemStatus.done)  # not committed

    def second_writer() -> None:
        with Session(engine) as second:
            second.add(
                ItemEvent(
                    workspace_id=workspace.id,
                    item_id=item.id,
                    goal_id=goal.id,
                    kind="drift",
                    estimate_hours=4,
                    status=ItemStatus.done,
                    data={"item_id": str(item.id)},
                    at=at("2027-01-07 09:00"),
                )
            )
            second.commit()

    writer = threading.Thread(target=second_writer)
    writer.start()
    clock.sleep(0.3)  # let the second writer reach the lock (order only, nothing timed)
    first.commit()
    first.close()
    writer.join(timeout=30)
    assert not writer.is_alive()
    with Session(engine) as check:
        # The drift snapshot equals the first writer's: it must change nothing.
        assert ledger_hours(check, workspace.id, at("2027-01-06 12:00")) == {goal.id: (4.0, 4.0)}
        assert_same_at(check, workspace.id, hourly("2027-01-05 00:00", 12))


def test_one_flush_over_many_items_reads_their_histories_in_chunks(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hours_ledger, "CHUNK", 2)
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    items = [
        created(session, goal, owner, at("2027-01-05 09:00"), estimate=number + 1)
        for number in range(5)
    ]
    for item in items[:3]:
        change(session, item, "status", at("2027-01-06 09:00"), status=ItemStatus.done)
    deleted_at = at("2027-01-08 09:00")
    for item in items:  # one flush over five items, as deleting a goal does
        session.add(
            ItemEvent(
                workspace_id=workspace.id,
                item_id=item.id,
                goal_id=goal.id,
                kind="deleted",
                estimate_hours=item.estimate_hours,
                status=item.status,
                data={"item_id": str(item.id)},
                at=deleted_at,
            )
        )
    session.flush()
    for item in items:
        session.delete(item)
    session.flush()
    assert ledger_hours(session, workspace.id, deleted_at - timedelta(seconds=1)) == {
        goal.id: (15.0, 6.0)
    }
    assert ledger_hours(session, workspace.id, deleted_at) == {}
    assert_same_at(session, workspace.id, [*hourly("2027-01-05 00:00", 8), deleted_at])
