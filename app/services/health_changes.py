"""``goal.health_changed``: a goal's health is compared with the last one published, and a change
is enqueued to the workspace's subscribers once.

What asks for a comparison: a status change of one of the goal's items, noted as a
``GoalHealthCheck`` row in the writer's transaction (``ask_for_health_check``, called by
``app.services.status_changes``). The worker's goal-health step (``sync/goal_health.py``) takes
those rows and calls ``publish_health_changes``, in its own transaction and with its own
settings; nobody else's commit computes health.

Exactly once per change, however many workers compare at the same time: the last published health
per goal (``GoalHealthState``) is swapped with a conditional UPDATE (``WHERE health = <the one
read>``), and only the transaction whose UPDATE changed the row enqueues the event. A concurrent
one waits for that row and then finds nothing to change (PostgreSQL re-reads the row after the
lock; SQLite runs one writer at a time). A goal with no known health yet gets it recorded without
an event (``record_health_baselines`` records every goal's when a subscription to the event is
made, so its first event is a real change).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Insert, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import Goal
from app.models.execution import GoalHealthState
from app.models.health_checks import GoalHealthCheck
from app.services.health import GoalHealth, goals_health
from app.services.notifications import enqueue_event
from app.services.subscriptions import active_subscriptions
from app.settings import Settings

EVENT_TYPE = "goal.health_changed"


def ask_for_health_check(
    session: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID, at: datetime
) -> None:
    """Note in the writer's transaction that the goal's health is to be compared by the worker."""
    session.add(GoalHealthCheck(workspace_id=workspace_id, goal_id=goal_id, at=at))


def _remember(
    session: Session, workspace_id: uuid.UUID, health: GoalHealth, now: datetime
) -> Insert:
    """An INSERT of the goal's health as the known one, unless one is known already."""
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return (
        insert(GoalHealthState)
        .values(
            goal_id=health.goal_id,
            workspace_id=workspace_id,
            health=str(health.health),
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )


def _swap(
    session: Session, workspace_id: uuid.UUID, health: GoalHealth, now: datetime
) -> str | None:
    """Store ``health`` as the goal's published health; the previous one when this call changed
    it, None when it was the same, unknown (now recorded), or changed by a concurrent worker."""
    known = session.scalar(
        select(col(GoalHealthState.health)).where(col(GoalHealthState.goal_id) == health.goal_id)
    )
    if known is None:
        session.execute(_remember(session, workspace_id, health, now))
        return None
    if known == health.health:
        return None
    swapped = session.execute(
        update(GoalHealthState)
        .where(col(GoalHealthState.goal_id) == health.goal_id, col(GoalHealthState.health) == known)
        .values(health=str(health.health), updated_at=now)
        .returning(col(GoalHealthState.goal_id))
    ).first()
    return known if swapped is not None else None


def publish_health_changes(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    settings: Settings,
    *,
    now: datetime | None = None,
) -> int:
    """Enqueue ``goal.health_changed`` for each goal whose health differs from the last published
    one (module docstring); returns how many were enqueued."""
    subscriptions = active_subscriptions(session, workspace_id)
    if not goal_ids or not any(EVENT_TYPE in each.event_types for each in subscriptions):
        return 0
    now = now or utcnow()
    goals = list(
        session.scalars(
            select(Goal).where(col(Goal.workspace_id) == workspace_id, col(Goal.id).in_(goal_ids))
        )
    )
    published = 0
    for health in goals_health(session, workspace_id, goals, settings, now=now):
        previous = _swap(session, workspace_id, health, now)
        if previous is None:
            continue
        reasons = " ".join(reason.message for reason in health.reasons)  # each a sentence
        enqueue_event(
            session,
            workspace_id,
            EVENT_TYPE,
            {
                "goal_id": str(health.goal_id),
                "title": health.title,
                "from": previous,
                "to": str(health.health),
                "reasons": [r.code for r in health.reasons],
            },
            text=f"Goal '{health.title}' is now {health.health.replace('_', ' ')}"
            + (f": {reasons}" if reasons else "."),
            now=now,
            subscriptions=subscriptions,
        )
        published += 1
    return published


def record_health_baselines(
    session: Session, workspace_id: uuid.UUID, settings: Settings, *, now: datetime | None = None
) -> int:
    """Record the health of every goal of the workspace not known yet, without an event.

    A new ``goal.health_changed`` subscription's first event is then a real change.
    """
    now = now or utcnow()
    known = select(col(GoalHealthState.goal_id))
    goals = list(
        session.scalars(
            select(Goal).where(col(Goal.workspace_id) == workspace_id, col(Goal.id).not_in(known))
        )
    )
    for health in goals_health(session, workspace_id, goals, settings, now=now):
        session.execute(_remember(session, workspace_id, health, now))
    return len(goals)
