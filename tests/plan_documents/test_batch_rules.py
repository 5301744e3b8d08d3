"""check_items (the rules over many items at once, which a plan import uses) answers exactly what
check_item answers for each item in the same state."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.errors import InvalidField
from app.models import Goal, Person, Plan
from app.services.item_rules import check_item, check_items
from app.services.items import create_items
from app.services.tokens import get_or_create_workspace
from app.settings import Settings


def test_the_batch_rules_agree_with_the_single_rules(engine: Engine, settings: Settings) -> None:
    today = date.today()
    with Session(engine) as session:
        workspace = get_or_create_workspace(session, "acme")
        busy = Person(workspace_id=workspace.id, name="Busy", weekly_strategic_hours=2)
        free = Person(workspace_id=workspace.id, name="Free", weekly_strategic_hours=40)
        plan = Plan(
            workspace_id=workspace.id,
            name="Q",
            start_date=today,
            end_date=today + timedelta(days=30),
        )
        session.add_all([busy, free, plan])
        session.flush()
        goal = Goal(workspace_id=workspace.id, plan_id=plan.id, title="G", owner_id=busy.id)
        session.add(goal)
        session.flush()

        def item(owner: Person, days: int, hours: float, **fields: object) -> dict[str, object]:
            due = today + timedelta(days=days)
            return {
                "goal_id": goal.id,
                "title": f"{owner.name} {days} {hours}",
                "owner_id": owner.id,
                "due_date": due,
                "start_date": due - timedelta(days=4),
                "estimate_hours": hours,
                **fields,
            }

        created = create_items(
            session,
            workspace.id,
            [
                item(busy, 10, 6),  # over capacity
                item(busy, 12, 6),  # over capacity too, with the first in the sums
                item(free, 45, 4),  # due after the plan's end
                item(free, 10, 30),  # too large
                item(free, 10, 4, status="done"),  # no capacity check for finished work
            ],
            actor="test",
            settings=settings,
        )
        rows = [row for row, _ in created]
        batch = check_items(session, rows, settings)
        for row, (_, outcome), again in zip(rows, created, batch, strict=True):
            try:
                single: object = check_item(session, row, settings)
            except InvalidField as exc:
                single = exc
            if isinstance(single, InvalidField):
                assert isinstance(outcome, InvalidField) and isinstance(again, InvalidField)
                assert outcome.detail == again.detail == single.detail
            else:
                assert outcome == again == single, row.title
        codes = [
            [w.code for w in outcome] if isinstance(outcome, list) else "error"
            for _, outcome in created
        ]
        assert codes[0] and set(codes[0]) == {"over_capacity"}
        assert codes[2] == ["due_after_plan_end"] and codes[3] == "error" and codes[4] == []
        session.rollback()


def test_strict_capacity_rejects_each_item_of_a_batch_that_overloads_its_owner(
    engine: Engine, settings: Settings
) -> None:
    strict = settings.model_copy(update={"strict_capacity": True})
    today = date.today()
    with Session(engine) as session:
        workspace = get_or_create_workspace(session, "acme")
        busy = Person(workspace_id=workspace.id, name="Busy", weekly_strategic_hours=1)
        plan = Plan(
            workspace_id=workspace.id, name="Q", start_date=today, end_date=today + timedelta(30)
        )
        session.add_all([busy, plan])
        session.flush()
        goal = Goal(workspace_id=workspace.id, plan_id=plan.id, title="G", owner_id=busy.id)
        session.add(goal)
        session.flush()
        values = {
            "goal_id": goal.id,
            "owner_id": busy.id,
            "due_date": today + timedelta(days=7),
            "estimate_hours": 8,
        }
        created = create_items(
            session,
            workspace.id,
            [{**values, "title": "one"}, {**values, "title": "two"}],
            actor="test",
            settings=strict,
        )
        assert all(isinstance(outcome, InvalidField) for _, outcome in created)
        assert "PLANBRIDGE_STRICT_CAPACITY" in str(created[0][1])
        session.rollback()
