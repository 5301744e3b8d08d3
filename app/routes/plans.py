"""``/api/v1/plans``: planning cycles."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.deps import PageDep, ReadAuth, SessionDep, WriteAuth
from app.errors import problem_responses
from app.routes.paging import page_response
from app.routes.rules_beyond_schema import IN_WORKSPACE, rules_beyond_schema
from app.schemas.plans import PlanCreate, PlanPage, PlanPublic, PlanUpdate
from app.services import plans

router = APIRouter(prefix="/plans", tags=["plans"])
PLAN_RULES = rules_beyond_schema(
    ("body.default_connection_id", IN_WORKSPACE),
    ("body.owner_id", IN_WORKSPACE),
    ("body.end_date", "not before start_date"),
)


@router.post(
    "",
    status_code=201,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra=PLAN_RULES,
)
def create_plan(body: PlanCreate, session: SessionDep, auth: WriteAuth) -> PlanPublic:
    plan = plans.create_plan(session, auth.workspace_id, body.model_dump())
    return PlanPublic.model_validate(plan)


@router.get("", response_model=PlanPage, responses=problem_responses(401, 422))
def list_plans(session: SessionDep, auth: ReadAuth, page: PageDep) -> Response:
    result = plans.list_plans(session, auth.workspace_id, limit=page.limit, offset=page.offset)
    return page_response(PlanPage, result)


@router.get("/{plan_id}", responses=problem_responses(401, 404, 422))
def get_plan(plan_id: uuid.UUID, session: SessionDep, auth: ReadAuth) -> PlanPublic:
    return PlanPublic.model_validate(plans.get_plan(session, auth.workspace_id, plan_id))


@router.patch(
    "/{plan_id}",
    responses=problem_responses(401, 403, 404, 413, 422),
    openapi_extra=PLAN_RULES,
)
def update_plan(
    plan_id: uuid.UUID, body: PlanUpdate, session: SessionDep, auth: WriteAuth
) -> PlanPublic:
    plan = plans.update_plan(
        session, auth.workspace_id, plan_id, body.model_dump(exclude_unset=True)
    )
    return PlanPublic.model_validate(plan)


@router.delete(
    "/{plan_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
def delete_plan(plan_id: uuid.UUID, session: SessionDep, auth: WriteAuth) -> None:
    """Delete a plan together with its goals and their action items."""
    plans.delete_plan(session, auth.workspace_id, plan_id, actor=auth.actor)
