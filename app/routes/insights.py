"""Computed views: progress, health and capacity of goals and plans, commitments and attention
lists."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import ReadAuth, SessionDep, SettingsDep
from app.errors import problem_responses
from app.routes.rules_beyond_schema import rules_beyond_schema
from app.schemas.execution import IsoWeekText
from app.schemas.weeks import IsoWeek
from app.services import accountability
from app.services.capacity import PlanCapacity, plan_capacity
from app.services.health import GoalHealth, PlanHealth, goal_health, plan_health
from app.services.progress import GoalProgress, PlanProgress, goal_progress, plan_progress

router = APIRouter(tags=["insights"])
ERRORS = problem_responses(401, 404, 422)


@router.get("/goals/{goal_id}/progress", responses=ERRORS)
def get_goal_progress(goal_id: uuid.UUID, session: SessionDep, auth: ReadAuth) -> GoalProgress:
    """Done hours / hours not dropped, and the change since a week ago."""
    return goal_progress(session, auth.workspace_id, goal_id)


@router.get("/plans/{plan_id}/progress", responses=ERRORS)
def get_plan_progress(plan_id: uuid.UUID, session: SessionDep, auth: ReadAuth) -> PlanProgress:
    return plan_progress(session, auth.workspace_id, plan_id)


@router.get("/goals/{goal_id}/health", responses=ERRORS)
def get_goal_health(
    goal_id: uuid.UUID, session: SessionDep, settings: SettingsDep, auth: ReadAuth
) -> GoalHealth:
    """Computed health with its reasons, the forecast, and the latest check-in's confidence."""
    return goal_health(session, auth.workspace_id, goal_id, settings)


@router.get("/plans/{plan_id}/health", responses=ERRORS)
def get_plan_health(
    plan_id: uuid.UUID, session: SessionDep, settings: SettingsDep, auth: ReadAuth
) -> PlanHealth:
    return plan_health(session, auth.workspace_id, plan_id, settings)


@router.get(
    "/plans/{plan_id}/capacity",
    responses=ERRORS,
    openapi_extra=rules_beyond_schema(
        ("query.to_week", "not before from_week, and at most 261 weeks after it"),
    ),
)
def get_plan_capacity(
    plan_id: uuid.UUID,
    session: SessionDep,
    auth: ReadAuth,
    from_week: Annotated[
        IsoWeekText | None, Query(description="Default: the plan's first week")
    ] = None,
    to_week: Annotated[
        IsoWeekText | None,
        Query(description="Default: the plan's last week; at most 261 weeks after from_week"),
    ] = None,
) -> PlanCapacity:
    """Planned hours per owner and ISO week against their capacity."""
    return plan_capacity(
        session,
        auth.workspace_id,
        plan_id,
        from_week=IsoWeek.parse(from_week) if from_week else None,
        to_week=IsoWeek.parse(to_week) if to_week else None,
    )


@router.get("/people/{person_id}/commitments", responses=ERRORS)
def get_commitments(
    person_id: uuid.UUID, session: SessionDep, settings: SettingsDep, auth: ReadAuth
) -> accountability.Commitments:
    """The person's open work: overdue, stale, due this week, and planned hours per week."""
    return accountability.commitments(session, auth.workspace_id, person_id, settings)


@router.get("/plans/{plan_id}/attention", responses=ERRORS)
def get_attention(
    plan_id: uuid.UUID, session: SessionDep, settings: SettingsDep, auth: ReadAuth
) -> accountability.Attention:
    """Everything overdue, blocked, stale, unlinked or with a dead sync, most urgent first."""
    return accountability.attention(session, auth.workspace_id, plan_id, settings)
