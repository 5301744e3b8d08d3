"""A plan import's batch change of existing items (plan_documents.changed_items) writes what
items.update_item writes for each item: the new values and load columns, one revision bump per
item, one event per changed field with its snapshot, the goal hours ledger, last_event_at, and the
same warnings and rule errors; and it costs the same number of SQL statements for 3 items as
for 12."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.errors import InvalidField
from app.models import ActionItem, Goal, ItemEvent, Person, Plan
from app.models.hours_ledger import GoalHoursChange
from app.schemas.common import RuleWarning
from app.services.items import create_items, update_item
from app.services.plan_documents.changed_items import update_changed_items
from app.services.tokens import get_or_create_workspace
from app.settings import Settings
from tests.plan_documents.item_copies import shared_columns

TODAY = date.today()
LATER = TODAY + timedelta(days=60)


def _workspace(session: Session, name: str, count: int, settings: Settings) -> dict[str, Any]:
    """A workspace with two owners (Busy is short of hours), two goals and ``count`` items."""
    workspace = get_or_create_workspace(session, name)
    busy = Person(workspace_id=workspace.id, name="Busy", weekly_strategic_hours=6)
    free = Person(workspace_id=workspace.id, name="Free", weekly_strategic_hours=40)
    plan = Plan(
        workspace_id=workspace.id, name="Q", start_date=TODAY, end_date=TODAY + timedelta(days=30)
    )
    session.add_all([busy, free, plan])
    session.flush()
    goals = [
        Goal(workspace_id=workspace.id, plan_id=plan.id, title=title, owner_id=busy.id)
        for title in ("G1", "G2")
    ]
    session.add_all(goals)
    session.flush()
    values = [
        {
            "goal_id": goals[0].id,
            "title": f"Item {n}",
            "owner_id": free.id,
            "due_date": TODAY + timedelta(days=10 + n),
            "start_date": TODAY + timedelta(days=6 + n),
            "estimate_hours": 2,
        }
        for n in range(count)
    ]
    created = create_items(session, workspace.id, values, actor="setup", settings=settings)
    session.commit()
    return {
        "workspace_id": workspace.id,
        "items": [row.id for row, _ in created],
        "busy": busy.id,
        "goal2": goals[1].id,
    }


def _changes(world: dict[str, Any]) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """Per item: a title and estimate; a move to Busy (over capacity), to the other goal, past
    the plan's end, done, too large; and one wanted value that is already stored."""
    ids = world["items"]
    return [
        (ids[0], {"title": "Item 0 renamed", "estimate_hours": 3}),
        (ids[1], {"owner_id": world["busy"], "estimate_hours": 8}),
        (ids[2], {"goal_id": world["goal2"], "description": "moved"}),
        (ids[3], {"due_date": TODAY + timedelta(days=45)}),
        (ids[4], {"status": "done"}),
        # Too large, and weeks after the others: the batch sees every change at once (the
        # module docstring of changed_items), so this load in their weeks would warn them too.
        (ids[5], {"estimate_hours": 300, "start_date": LATER, "due_date": LATER}),
        (ids[6], {"title": "Item 6"}),
    ]


def _outcome(outcome: list[RuleWarning] | InvalidField) -> Any:
    if isinstance(outcome, InvalidField):
        return outcome.detail
    return [(w.code, w.field) for w in outcome]


def _stored(session: Session, workspace_id: uuid.UUID) -> list[Any]:
    items = session.exec(
        select(ActionItem)
        .where(ActionItem.workspace_id == workspace_id)
        .order_by(col(ActionItem.created_at))
    ).all()
    described = []
    for item in items:
        events = session.exec(
            select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(col(ItemEvent.at))
        ).all()
        ledger = [
            session.exec(select(GoalHoursChange).where(GoalHoursChange.event_id == event.id)).all()
            for event in events
        ]
        assert item.last_event_at == events[-1].at
        assert (item.done_at is not None) == (item.status == "done")
        described.append(
            (
                shared_columns(item),
                [
                    (e.kind, e.actor, e.field, e.from_value, e.to_value, e.estimate_hours, e.status)
                    for e in events
                    if e.field != "goal_id" and e.field != "owner_id"
                ],
                [(e.field, e.from_value is not None) for e in events],
                [sorted((r.total_hours, r.done_hours) for r in rows) for rows in ledger],
            )
        )
    return described


def _one_by_one(
    session: Session, world: dict[str, Any], settings: Settings, changes: list[Any]
) -> list[Any]:
    outcomes = []
    for item_id, wanted in changes:
        try:
            _, warnings = update_item(
                session,
                world["workspace_id"],
                item_id,
                wanted,
                actor="import by test",
                settings=settings,
            )
            outcomes.append(_outcome(warnings))
        except InvalidField as exc:
            outcomes.append(_outcome(exc))
    return outcomes


def test_the_batch_answers_the_warnings_and_errors_of_update_item(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        single = _workspace(session, "single", 7, settings)
        batch = _workspace(session, "batch", 7, settings)
        expected = _one_by_one(session, single, settings, _changes(single))
        batched = update_changed_items(
            session, batch["workspace_id"], _changes(batch), actor="import", settings=settings
        )
        assert [_outcome(outcome) for outcome in batched] == expected
        assert expected[0] == [] and expected[1] == [("over_capacity", "estimate_hours")]
        assert expected[3] == [("due_after_plan_end", "due_date")]
        assert "too large" in expected[5] and expected[6] == []
        session.rollback()  # as the import does after a rule's error


def test_the_batch_writes_what_update_item_writes(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        single = _workspace(session, "single", 7, settings)
        batch = _workspace(session, "batch", 7, settings)
        without_error = [change for n, change in enumerate(_changes(single)) if n != 5]
        _one_by_one(session, single, settings, without_error)
        changes = [change for n, change in enumerate(_changes(batch)) if n != 5]
        update_changed_items(
            session, batch["workspace_id"], changes, actor="import by test", settings=settings
        )
        session.commit()
    with Session(engine) as fresh:
        expected = _stored(fresh, single["workspace_id"])
        assert [item["revision"] for item, *_ in expected] == [2, 2, 2, 2, 2, 1, 1]
        assert _stored(fresh, batch["workspace_id"]) == expected


def test_the_batch_costs_the_same_statements_for_3_items_as_for_12(
    engine: Engine, settings: Settings
) -> None:
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    with Session(engine) as session:
        world = _workspace(session, "acme", 12, settings)
        event.listen(engine, "before_cursor_execute", count)
        try:
            counts = []
            for ids in (world["items"][:3], world["items"][3:]):
                statements[0] = 0
                changes = [(item_id, {"estimate_hours": 3}) for item_id in ids]
                outcomes = update_changed_items(
                    session,
                    world["workspace_id"],
                    changes,
                    actor="import by test",
                    settings=settings,
                )
                assert outcomes == [[] for _ in ids]
                counts.append(statements[0])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert counts[0] == counts[1]
        session.rollback()
