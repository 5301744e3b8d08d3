"""A plan import's bulk creation of new items (plan_documents.new_items) writes what creating them
through the ORM writes (items.create_items and the session hooks): the items with their load
columns and last_event_at, a ``created`` event each, the goal hours ledger, stored weekly reviews
dropped, and the same rule outcomes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.models import ActionItem, Goal, ItemEvent, Person, Plan
from app.models.execution import FrozenPlannedWeek
from app.models.hours_ledger import GoalHoursChange
from app.services.items import create_items
from app.services.plan_documents.new_items import create_new_items
from app.services.tokens import get_or_create_workspace
from app.settings import Settings
from tests.plan_documents.item_copies import shared_columns

TODAY = date.today()


def _workspace(session: Session, name: str) -> tuple[uuid.UUID, Goal, Person]:
    workspace = get_or_create_workspace(session, name)
    owner = Person(workspace_id=workspace.id, name="Busy", weekly_strategic_hours=4)
    plan = Plan(
        workspace_id=workspace.id,
        name="Q",
        start_date=TODAY,
        end_date=TODAY + timedelta(days=30),
    )
    session.add_all([owner, plan])
    session.flush()
    goal = Goal(workspace_id=workspace.id, plan_id=plan.id, title="G", owner_id=owner.id)
    session.add(goal)
    for weeks in (-3, 3):  # a stored week that has ended and one a new event outdates
        session.add(
            FrozenPlannedWeek(
                workspace_id=workspace.id,
                iso_week=f"W{weeks}",
                week_end=datetime.now(UTC) + timedelta(weeks=weeks),
                planned={},
            )
        )
    session.flush()
    return workspace.id, goal, owner


def _values(goal: Goal, owner: Person) -> list[dict[str, Any]]:
    def item(days: int, hours: float, **fields: Any) -> dict[str, Any]:
        return {
            "goal_id": goal.id,
            "title": f"Item {days} {hours}",
            "description": "",
            "owner_id": owner.id,
            "due_date": TODAY + timedelta(days=days),
            "start_date": TODAY + timedelta(days=days - 4),
            "estimate_hours": hours,
            "connection_id": None,
            "scope": None,
            **fields,
        }

    return [
        item(10, 6),  # over capacity
        item(45, 4),  # due after the plan's end
        item(10, 300),  # too large: an error
        item(12, 4, status="done"),
        item(14, 2, status="dropped"),
        item(20, 3, start_date=None),  # spread from its creation day
        item(21, 0),
    ]


def _stored(session: Session, workspace_id: uuid.UUID) -> dict[str, Any]:
    items = session.exec(
        select(ActionItem)
        .where(ActionItem.workspace_id == workspace_id)
        .order_by(col(ActionItem.created_at))
    ).all()
    events = {
        event.item_id: event
        for event in session.exec(select(ItemEvent).where(ItemEvent.workspace_id == workspace_id))
    }
    ledger = {
        row.event_id: (row.total_hours, row.done_hours, row.at)
        for row in session.exec(
            select(GoalHoursChange).where(GoalHoursChange.workspace_id == workspace_id)
        )
    }
    weeks = session.exec(
        select(FrozenPlannedWeek.iso_week).where(FrozenPlannedWeek.workspace_id == workspace_id)
    ).all()
    described = []
    for item in items:
        event = events[item.id]
        assert item.last_event_at == item.created_at == event.at
        assert item.updated_at == item.last_activity_at == item.created_at
        assert (item.done_at is not None) == (item.status == "done")
        assert event.item_id == item.id and event.goal_id == item.goal_id
        assert event.data == {"item_id": str(item.id)}
        total, done, at = ledger.pop(event.id, (None, None, event.at))
        assert at == event.at
        described.append(
            (
                shared_columns(item),
                (event.kind, event.source, event.actor, event.field, event.from_value),
                (event.to_value, event.estimate_hours, event.status),
                (total, done),
            )
        )
    assert ledger == {}
    return {"items": described, "weeks": sorted(weeks)}


def test_bulk_creation_writes_what_the_orm_creation_writes(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        orm_workspace, orm_goal, orm_owner = _workspace(session, "orm")
        bulk_workspace, bulk_goal, bulk_owner = _workspace(session, "bulk")
        through_orm = create_items(
            session,
            orm_workspace,
            _values(orm_goal, orm_owner),
            actor="import by test",
            settings=settings,
        )
        in_bulk = create_new_items(
            session,
            bulk_workspace,
            _values(bulk_goal, bulk_owner),
            actor="import by test",
            settings=settings,
        )
        session.commit()
        # The warnings' keys name the owner, whose id differs.
        outcomes = [
            [
                outcome.detail
                if isinstance(outcome, Exception)
                else [(w.code, w.field, w.message) for w in outcome]
                for _, outcome in created
            ]
            for created in (through_orm, in_bulk)
        ]
        assert outcomes[0] == outcomes[1]
        assert outcomes[1][0][0][0] == "over_capacity"
        assert isinstance(outcomes[1][2], str)
        with Session(engine) as fresh:
            expected = _stored(fresh, orm_workspace)
            assert expected["weeks"] == ["W-3"]
            assert [ledger for *_, ledger in expected["items"]][3:] == [
                (4.0, 4.0),
                (None, None),
                (3.0, 0.0),
                (None, None),
            ]
            assert _stored(fresh, bulk_workspace) == expected
