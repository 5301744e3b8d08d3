"""``/api/v1/checkins``: owners' weekly confidence per goal, with history of replaced check-ins."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.deps import PageDep, ReadAuth, SessionDep, WriteAuth
from app.errors import problem_responses
from app.routes.paging import page_response
from app.routes.rules_beyond_schema import IN_WORKSPACE, rules_beyond_schema
from app.schemas.common import Page
from app.schemas.execution import CheckInCreate, CheckInPublic, IsoWeekText
from app.services import checkins

router = APIRouter(prefix="/checkins", tags=["check-ins"])


@router.post(
    "",
    status_code=201,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra=rules_beyond_schema(
        ("body.owner_id", IN_WORKSPACE),
        ("body.goal_id", IN_WORKSPACE),
        (
            "body.iso_week",
            "the current week, the previous one or the next one; not a week whose review is final",
        ),
    ),
)
def create_check_in(body: CheckInCreate, session: SessionDep, auth: WriteAuth) -> CheckInPublic:
    """Record a check-in; one for the same owner, goal and week replaces it (the old one stays as
    history)."""
    check_in = checkins.record_check_in(session, auth.workspace_id, body)
    return CheckInPublic.model_validate(check_in)


@router.get("", response_model=Page[CheckInPublic], responses=problem_responses(401, 422))
def list_check_ins(
    session: SessionDep,
    auth: ReadAuth,
    page: PageDep,
    goal_id: Annotated[uuid.UUID | None, Query()] = None,
    owner_id: Annotated[uuid.UUID | None, Query()] = None,
    plan_id: Annotated[uuid.UUID | None, Query()] = None,
    iso_week: Annotated[IsoWeekText | None, Query()] = None,
    needs_help: Annotated[bool | None, Query()] = None,
    include_replaced: Annotated[bool, Query(description="Also list replaced check-ins")] = False,
) -> Response:
    result = checkins.list_check_ins(
        session,
        auth.workspace_id,
        goal_id=goal_id,
        owner_id=owner_id,
        plan_id=plan_id,
        iso_week=iso_week,
        needs_help=needs_help,
        include_replaced=include_replaced,
        limit=page.limit,
        offset=page.offset,
    )
    return page_response(Page[CheckInPublic], result)
