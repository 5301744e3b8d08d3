"""Plain-function factories that seed rows straight through the session (no API needed)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import Session

from app.models import ActionItem, EventSource, Goal, ItemEvent, ItemStatus, Person, Plan, Workspace
from app.models.execution import FocusBlock


def at(text: str) -> datetime:
    """``"2027-01-04 09:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_workspace(session: Session, name: str = "acme") -> Workspace:
    workspace = Workspace(name=f"{name}-{uuid.uuid4().hex[:6]}")
    session.add(workspace)
    session.flush()
    return workspace


def make_person(
    session: Session, workspace_id: uuid.UUID, name: str = "Ada", hours: float | None = 10.0
) -> Person:
    person = Person(workspace_id=workspace_id, name=name, weekly_strategic_hours=hours)
    session.add(person)
    session.flush()
    return person


def make_plan(
    session: Session,
    workspace_id: uuid.UUID,
    start: date = date(2027, 1, 4),
    end: date = date(2027, 3, 28),
) -> Plan:
    plan = Plan(workspace_id=workspace_id, name="2027 Q1", start_date=start, end_date=end)
    session.add(plan)
    session.flush()
    return plan


def make_goal(
    session: Session,
    plan: Plan,
    owner: Person,
    title: str = "Goal",
    target: date | None = None,
    created: datetime | None = None,
) -> Goal:
    goal = Goal(
        workspace_id=plan.workspace_id,
        plan_id=plan.id,
        title=title,
        owner_id=owner.id,
        target_date=target,
    )
    if created is not None:
        goal.created_at = created
    session.add(goal)
    session.flush()
    return goal


def make_item(
    session: Session,
    goal: Goal,
    owner: Person,
    *,
    estimate: float = 4.0,
    due: date = date(2027, 1, 15),
    start: date | None = None,
    status: ItemStatus = ItemStatus.todo,
    created: datetime | None = None,
    title: str = "Item",
    **values: Any,
) -> ActionItem:
    """An item plus its ``created`` event (with the snapshot), as the core service records it."""
    created = created or at("2027-01-04 08:00")
    item = ActionItem(
        workspace_id=goal.workspace_id,
        goal_id=goal.id,
        owner_id=owner.id,
        title=title,
        due_date=due,
        start_date=start,
        estimate_hours=estimate,
        status=status,
        created_at=created,
        updated_at=created,
        last_activity_at=created,
        done_at=created if status == ItemStatus.done else None,
        **values,
    )
    session.add(item)
    session.flush()
    record(session, item, "created", created)
    return item


def record(
    session: Session, item: ActionItem, kind: str, when: datetime, **values: Any
) -> ItemEvent:
    event = ItemEvent(
        workspace_id=item.workspace_id,
        item_id=item.id,
        goal_id=item.goal_id,
        kind=kind,
        source=values.pop("source", EventSource.api),
        estimate_hours=item.estimate_hours,
        status=item.status,
        at=when,
        **values,
    )
    session.add(event)
    session.flush()
    return event


def set_status(session: Session, item: ActionItem, status: ItemStatus, when: datetime) -> None:
    """What the API (or the sync engine, source tracker) does: update the row, append an event."""
    old = item.status
    item.status = status
    item.last_activity_at = when
    item.updated_at = when
    item.done_at = when if status == ItemStatus.done else None
    session.add(item)
    record(session, item, "status", when, field="status", from_value=str(old), to_value=str(status))


def set_estimate(session: Session, item: ActionItem, hours: float, when: datetime) -> None:
    old = item.estimate_hours
    item.estimate_hours = hours
    item.last_activity_at = when
    session.add(item)
    record(
        session,
        item,
        "planning",
        when,
        field="estimate_hours",
        from_value=f"{old:g}",
        to_value=f"{hours:g}",
    )


def make_block(
    session: Session,
    person: Person,
    weekday: int,
    start: time,
    end: time,
    zone: str = "Europe/Berlin",
) -> FocusBlock:
    block = FocusBlock(
        workspace_id=person.workspace_id,
        person_id=person.id,
        weekday=weekday,
        start_time=start,
        end_time=end,
        timezone=zone,
    )
    session.add(block)
    session.flush()
    return block
