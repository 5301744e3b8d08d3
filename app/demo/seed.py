"""Seed the demo workspace: four people, the shipped quarter (quarter.yaml, moved so that it
started eight weeks ago) applied as a plan document, a memory tracker kept in a file, and a
history: items done, started and blocked over the past weeks, and weekly check-ins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import (
    ActionItem,
    CheckIn,
    Confidence,
    Connection,
    EventKind,
    EventSource,
    Goal,
    GoalHoursChange,
    ItemEvent,
    ItemStatus,
    Person,
    Plan,
    Scope,
)
from app.schemas.weeks import IsoWeek
from app.services.connections import create_connection
from app.services.item_history import record_item_event
from app.services.plan_documents.importer import DocumentFormat, import_plan
from app.services.plan_documents.yaml_reader import read_yaml
from app.services.tokens import get_or_create_workspace, issue_token
from app.settings import Settings

QUARTER_FILE = Path(__file__).with_name("quarter.yaml")
TEMPLATE_START = date(2027, 1, 4)  # the Monday quarter.yaml starts on
WORKSPACE = "demo"
TRACKER = "Demo tracker"


@dataclass
class Demo:
    token: str
    plan_id: uuid.UUID
    seeded: bool  # False: the workspace was there already, only a new token was issued


def _shifted(value: Any, days: int, name: str = "") -> Any:
    if isinstance(value, dict):
        return {key: _shifted(child, days, key) for key, child in value.items()}
    if isinstance(value, list):
        return [_shifted(child, days) for child in value]
    if name.endswith("_date") and isinstance(value, date):
        return value + timedelta(days=days)
    return value


def quarter_document(today: date) -> str:
    """The shipped quarter with its dates moved to start on the Monday eight weeks ago."""
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=8)
    data, _ = read_yaml(QUARTER_FILE.read_bytes())
    return yaml.safe_dump(_shifted(data, (start - TEMPLATE_START).days), sort_keys=False)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _history(session: Session, plan: Plan, today: date) -> None:
    """Back-date the items' creation to the plan's start and give them the statuses a quarter
    eight weeks in has: most past items done, some started, a few blocked."""
    created = _at(plan.start_date, 9)
    items = session.exec(
        select(ActionItem)
        .join(Goal, col(Goal.id) == col(ActionItem.goal_id))
        .where(col(Goal.plan_id) == plan.id)
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
    ).all()
    event_ids = [
        event.id
        for event in session.exec(
            select(ItemEvent).where(col(ItemEvent.item_id).in_([item.id for item in items]))
        ).all()
    ]
    session.execute(update(ItemEvent).where(col(ItemEvent.id).in_(event_ids)).values(at=created))
    session.execute(
        update(GoalHoursChange)
        .where(col(GoalHoursChange.event_id).in_(event_ids))
        .values(at=created)
    )
    for index, item in enumerate(items):
        item.created_at = item.updated_at = item.last_activity_at = created
        item.last_event_at = created
        days_left = (item.due_date - today).days
        if days_left < -3:
            steps = [
                ItemStatus.in_progress,
                ItemStatus.blocked if index % 7 == 3 else ItemStatus.done,
            ]
        elif days_left < 14:
            steps = [ItemStatus.in_progress]
            if index % 5 == 0:
                steps.append(ItemStatus.blocked)
        else:
            steps = []
        day = max(plan.start_date, item.due_date - timedelta(days=10))
        for step in steps:
            day = min(day + timedelta(days=3 + index % 4), today - timedelta(days=1))
            old = item.status
            item.status = step
            at = _at(day, 10 + index % 6)
            item.last_activity_at = at
            item.done_at = at if step == ItemStatus.done else None
            record_item_event(
                session,
                item,
                EventKind.status,
                actor=TRACKER,
                source=EventSource.tracker,
                field="status",
                from_value=old,
                to_value=step,
                at=at,
            )
        session.add(item)
    session.flush()


def _check_ins(session: Session, plan: Plan, today: date) -> None:
    goals = session.exec(select(Goal).where(Goal.plan_id == plan.id)).all()
    week = IsoWeek.of(plan.start_date)
    number = 0
    while week.monday + timedelta(days=4) < today:
        for goal in goals:
            number += 1
            confidence = [Confidence.on_track, Confidence.on_track, Confidence.at_risk][number % 3]
            blocked = confidence == Confidence.at_risk and number % 2 == 0
            session.add(
                CheckIn(
                    workspace_id=plan.workspace_id,
                    owner_id=goal.owner_id,
                    goal_id=goal.id,
                    iso_week=str(week),
                    confidence=confidence,
                    note="Steady progress."
                    if confidence == Confidence.on_track
                    else "Slipping: waiting on a review.",
                    blockers="Needs a decision on scope." if blocked else "",
                    needs_help=blocked,
                    created_at=_at(week.monday + timedelta(days=4), 16),
                )
            )
        week = week.shifted(1)
    session.flush()


def seed_demo(engine: Engine, settings: Settings) -> Demo:
    today = utcnow().date()
    with Session(engine, expire_on_commit=False) as session:
        workspace = get_or_create_workspace(session, WORKSPACE)
        existing = session.exec(
            select(Plan).where(Plan.workspace_id == workspace.id, Plan.name == "Demo quarter")
        ).first()
        seeded = existing is None
        if existing is None:
            tracker = session.exec(
                select(Connection).where(
                    Connection.workspace_id == workspace.id, Connection.name == TRACKER
                )
            ).first()
            if tracker is None:
                create_connection(
                    session,
                    settings,
                    workspace.id,
                    {
                        "name": TRACKER,
                        "kind": "memory",
                        "base_url": "memory://demo",
                        "scope": "DEMO",
                        "credentials": {"token": "good"},
                    },
                )
            report = import_plan(
                session,
                workspace.id,
                quarter_document(today),
                DocumentFormat.yaml,
                dry_run=False,
                prune=False,
                actor="import by demo",
                settings=settings,
            )
            if report.errors or report.plan_id is None:
                raise RuntimeError(f"the demo plan did not apply: {report.errors[0].message}")
            existing = session.get(Plan, report.plan_id)
            assert existing is not None
            # Each person's account in the memory tracker: the part of the email before the @.
            for person in session.exec(
                select(Person).where(Person.workspace_id == workspace.id)
            ).all():
                person.identities = {"memory": (person.email or person.name).split("@")[0]}
                session.add(person)
            _history(session, existing, today)
            _check_ins(session, existing, today)
        issued = issue_token(session, workspace.id, Scope.write, "demo")
        session.commit()
        return Demo(token=issued.token, plan_id=existing.id, seeded=seeded)
