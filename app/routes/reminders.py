"""Weekly reminders: ``/api/v1/reminders/cadence`` (the workspace's day and hour),
``/api/v1/plans/{id}/reminder-cadence`` (a plan's own) and ``/api/v1/reminders`` (who was
reminded, and when)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.db import utcnow
from app.deps import AdminAuth, PageDep, ReadAuth, SessionDep, WriteAuth
from app.errors import problem_responses
from app.routes.paging import page_response
from app.schemas.common import Page
from app.schemas.execution import IsoWeekText
from app.schemas.reminders import (
    CadencePublic,
    CadenceUpdate,
    PlanCadencePublic,
    ReminderPublic,
    Weekday,
)
from app.services import reminder_cadence
from app.services.reminder_cadence import WEEKDAYS, Cadence, PlanCadence
from app.services.reminders import list_reminders

router = APIRouter(tags=["reminders"])


def _cadence(body: CadenceUpdate) -> Cadence:
    return Cadence(weekday=WEEKDAYS.index(body.weekday), hour=body.hour)


def _public(cadence: Cadence) -> CadencePublic:
    return CadencePublic(weekday=Weekday(cadence.weekday_name), hour=cadence.hour)


def _plan_public(found: PlanCadence) -> PlanCadencePublic:
    return PlanCadencePublic(
        weekday=Weekday(found.cadence.weekday_name),
        hour=found.cadence.hour,
        inherited=found.inherited,
    )


@router.get("/reminders/cadence", responses=problem_responses(401))
def get_workspace_cadence(session: SessionDep, auth: ReadAuth) -> CadencePublic:
    """When the weekly check-in reminder goes out: this day and hour in each person's own time
    zone (default Friday 15:00)."""
    return _public(reminder_cadence.workspace_cadence(session, auth.workspace_id))


@router.put("/reminders/cadence", responses=problem_responses(401, 403, 413, 422))
def set_workspace_cadence(
    body: CadenceUpdate, session: SessionDep, auth: AdminAuth
) -> CadencePublic:
    """Change the workspace's cadence (admin tokens); plans with their own keep theirs."""
    cadence = reminder_cadence.set_workspace_cadence(
        session, auth.workspace_id, _cadence(body), utcnow()
    )
    return _public(cadence)


@router.get("/plans/{plan_id}/reminder-cadence", responses=problem_responses(401, 404, 422))
def get_plan_cadence(plan_id: uuid.UUID, session: SessionDep, auth: ReadAuth) -> PlanCadencePublic:
    return _plan_public(reminder_cadence.plan_cadence(session, auth.workspace_id, plan_id))


@router.put(
    "/plans/{plan_id}/reminder-cadence", responses=problem_responses(401, 403, 404, 413, 422)
)
def set_plan_cadence(
    plan_id: uuid.UUID, body: CadenceUpdate, session: SessionDep, auth: WriteAuth
) -> PlanCadencePublic:
    """Give the plan its own cadence: its owners are reminded then (the earliest of their plans'
    if they work in several)."""
    found = reminder_cadence.set_plan_cadence(
        session, auth.workspace_id, plan_id, _cadence(body), utcnow()
    )
    return _plan_public(found)


@router.delete("/plans/{plan_id}/reminder-cadence", responses=problem_responses(401, 403, 404, 422))
def inherit_plan_cadence(
    plan_id: uuid.UUID, session: SessionDep, auth: WriteAuth
) -> PlanCadencePublic:
    """The plan follows the workspace's cadence again."""
    found = reminder_cadence.set_plan_cadence(session, auth.workspace_id, plan_id, None, utcnow())
    return _plan_public(found)


@router.get(
    "/reminders", response_model=Page[ReminderPublic], responses=problem_responses(401, 422)
)
def list_sent_reminders(
    session: SessionDep,
    auth: ReadAuth,
    page: PageDep,
    iso_week: Annotated[IsoWeekText | None, Query()] = None,
    person_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    """The reminders decided (weekly and follow-up), oldest first; the messages are in
    ``/deliveries``."""
    result = list_reminders(
        session,
        auth.workspace_id,
        iso_week=iso_week,
        person_id=person_id,
        limit=page.limit,
        offset=page.offset,
    )
    return page_response(Page[ReminderPublic], result)
