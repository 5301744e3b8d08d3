"""``/api/v1/goals``: what a plan wants to achieve."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session

from app.deps import PageDep, ReadAuth, SessionDep, WriteAuth
from app.errors import problem_responses
from app.models import Goal
from app.routes.paging import page_response
from app.routes.rules_beyond_schema import IN_WORKSPACE, rules_beyond_schema
from app.schemas.common import RuleWarning
from app.schemas.goals import GoalCreate, GoalPage, GoalPublic, GoalUpdate, GoalWritten
from app.schemas.tracker_links import TrackerLink
from app.services import goals
from app.services.tracker_links import goal_links

router = APIRouter(prefix="/goals", tags=["goals"])
GOAL_RULES = rules_beyond_schema(
    ("body.plan_id", IN_WORKSPACE),
    ("body.owner_id", IN_WORKSPACE),
    ("body.connection_id", IN_WORKSPACE),
)


def _public(session: Session, goal: Goal) -> GoalPublic:
    """The goal with its tracker mirror."""
    public = GoalPublic.model_validate(goal)
    found = goal_links(session, goal.workspace_id, [goal.id]).get(goal.id, [])
    public.links = [TrackerLink.model_validate(link) for link in found]
    return public


def _written(session: Session, goal: Goal, warnings: list[RuleWarning]) -> GoalWritten:
    return GoalWritten(**_public(session, goal).model_dump(), warnings=warnings)


@router.post(
    "",
    status_code=201,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra=GOAL_RULES,
)
def create_goal(body: GoalCreate, session: SessionDep, auth: WriteAuth) -> GoalWritten:
    """Create a goal; a target date outside its plan is accepted with a warning."""
    goal, warnings = goals.create_goal(session, auth.workspace_id, body.model_dump())
    return _written(session, goal, warnings)


@router.get("", response_model=GoalPage, responses=problem_responses(401, 422))
def list_goals(
    session: SessionDep,
    auth: ReadAuth,
    page: PageDep,
    plan_id: Annotated[uuid.UUID | None, Query()] = None,
    owner_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    result = goals.list_goals(
        session,
        auth.workspace_id,
        plan_id=plan_id,
        owner_id=owner_id,
        limit=page.limit,
        offset=page.offset,
    )
    return page_response(GoalPage, result)


@router.get("/{goal_id}", responses=problem_responses(401, 404, 422))
def get_goal(goal_id: uuid.UUID, session: SessionDep, auth: ReadAuth) -> GoalPublic:
    return _public(session, goals.get_goal(session, auth.workspace_id, goal_id))


@router.patch(
    "/{goal_id}",
    responses=problem_responses(401, 403, 404, 413, 422),
    openapi_extra=GOAL_RULES,
)
def update_goal(
    goal_id: uuid.UUID, body: GoalUpdate, session: SessionDep, auth: WriteAuth
) -> GoalWritten:
    goal, warnings = goals.update_goal(
        session, auth.workspace_id, goal_id, body.model_dump(exclude_unset=True)
    )
    return _written(session, goal, warnings)


@router.delete(
    "/{goal_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
def delete_goal(goal_id: uuid.UUID, session: SessionDep, auth: WriteAuth) -> None:
    """Delete a goal together with its action items."""
    goals.delete_goal(session, auth.workspace_id, goal_id, actor=auth.actor)
