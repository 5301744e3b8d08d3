"""The weekly reminder's cadence: a day and an hour, per workspace, overridable per plan.

No row is the default, Friday 15:00. The hour is local: each person is reminded at that hour in
their own time zone (app/services/time_zones.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.models import ReminderCadence
from app.services.plans import get_plan

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Cadence:
    weekday: int  # 0 = Monday
    hour: int

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday]


DEFAULT_CADENCE = Cadence(weekday=4, hour=15)


@dataclass(frozen=True)
class PlanCadence:
    cadence: Cadence
    inherited: bool  # the workspace's (or the default), not the plan's own


def _workspace_row(session: Session, workspace_id: uuid.UUID) -> ReminderCadence | None:
    return session.exec(
        select(ReminderCadence).where(
            col(ReminderCadence.workspace_id) == workspace_id,
            col(ReminderCadence.plan_id).is_(None),
        )
    ).first()


def _plan_row(session: Session, plan_id: uuid.UUID) -> ReminderCadence | None:
    return session.exec(
        select(ReminderCadence).where(col(ReminderCadence.plan_id) == plan_id)
    ).first()


def _of(row: ReminderCadence | None) -> Cadence | None:
    return Cadence(row.weekday, row.hour) if row is not None else None


def workspace_cadence(session: Session, workspace_id: uuid.UUID) -> Cadence:
    return _of(_workspace_row(session, workspace_id)) or DEFAULT_CADENCE


def set_workspace_cadence(
    session: Session, workspace_id: uuid.UUID, cadence: Cadence, now: datetime
) -> Cadence:
    row = _workspace_row(session, workspace_id) or ReminderCadence(
        workspace_id=workspace_id, weekday=cadence.weekday, hour=cadence.hour
    )
    row.weekday, row.hour, row.updated_at = cadence.weekday, cadence.hour, now
    session.add(row)
    session.flush()
    return cadence


def plan_cadence(session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID) -> PlanCadence:
    plan = get_plan(session, workspace_id, plan_id)
    own = _of(_plan_row(session, plan.id))
    if own is not None:
        return PlanCadence(own, inherited=False)
    return PlanCadence(workspace_cadence(session, workspace_id), inherited=True)


def set_plan_cadence(
    session: Session,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    cadence: Cadence | None,
    now: datetime,
) -> PlanCadence:
    """Give the plan its own cadence, or (None) let it follow the workspace's again."""
    plan = get_plan(session, workspace_id, plan_id)
    row = _plan_row(session, plan.id)
    if cadence is None:
        if row is not None:
            session.delete(row)
            session.flush()
        return PlanCadence(workspace_cadence(session, workspace_id), inherited=True)
    row = row or ReminderCadence(
        workspace_id=workspace_id, plan_id=plan.id, weekday=cadence.weekday, hour=cadence.hour
    )
    row.weekday, row.hour, row.updated_at = cadence.weekday, cadence.hour, now
    session.add(row)
    session.flush()
    return PlanCadence(cadence, inherited=False)


def cadences_of_plans(
    session: Session, workspace_id: uuid.UUID, plan_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Cadence]:
    """Each plan's cadence (its own, else the workspace's), with one query."""
    rows = session.exec(
        select(ReminderCadence).where(col(ReminderCadence.workspace_id) == workspace_id)
    ).all()
    fallback = next((_of(row) for row in rows if row.plan_id is None), None) or DEFAULT_CADENCE
    own = {row.plan_id: Cadence(row.weekday, row.hour) for row in rows if row.plan_id}
    return {plan_id: own.get(plan_id, fallback) for plan_id in plan_ids}
