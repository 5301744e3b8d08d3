"""``/api/v1/people/{id}/focus-blocks``: weekly protected time for strategic work."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.deps import ReadAuth, SessionDep, WriteAuth
from app.errors import problem_responses
from app.models.execution import FocusBlock
from app.routes.rules_beyond_schema import rules_beyond_schema
from app.schemas.execution import FocusBlockCreate, FocusBlockPublic
from app.services import calendar

router = APIRouter(prefix="/people/{person_id}/focus-blocks", tags=["focus time"])
FOCUS_BLOCK_RULES = rules_beyond_schema(
    ("body.end", "after start (a block does not cross midnight)"),
)


def _public(block: FocusBlock) -> FocusBlockPublic:
    return FocusBlockPublic(
        id=block.id,
        person_id=block.person_id,
        weekday=block.weekday,
        start=block.start_time,
        end=block.end_time,
        timezone=block.timezone,
    )


@router.get("", responses=problem_responses(401, 404, 422))
def list_focus_blocks(
    person_id: uuid.UUID, session: SessionDep, auth: ReadAuth
) -> list[FocusBlockPublic]:
    return [
        _public(block)
        for block in calendar.list_focus_blocks(session, auth.workspace_id, person_id)
    ]


@router.post(
    "",
    status_code=201,
    responses=problem_responses(401, 403, 404, 413, 422),
    openapi_extra=FOCUS_BLOCK_RULES,
)
def create_focus_block(
    person_id: uuid.UUID, body: FocusBlockCreate, session: SessionDep, auth: WriteAuth
) -> FocusBlockPublic:
    """Add a block (wall-clock times in an IANA time zone); without declared hours it sets
    capacity."""
    block = calendar.create_focus_block(session, auth.workspace_id, person_id, body)
    return _public(block)


@router.put(
    "/{block_id}",
    responses=problem_responses(401, 403, 404, 413, 422),
    openapi_extra=FOCUS_BLOCK_RULES,
)
def replace_focus_block(
    person_id: uuid.UUID,
    block_id: uuid.UUID,
    body: FocusBlockCreate,
    session: SessionDep,
    auth: WriteAuth,
) -> FocusBlockPublic:
    block = calendar.replace_focus_block(session, auth.workspace_id, person_id, block_id, body)
    return _public(block)


@router.delete("/{block_id}", status_code=204, responses=problem_responses(401, 403, 404, 422))
def delete_focus_block(
    person_id: uuid.UUID, block_id: uuid.UUID, session: SessionDep, auth: WriteAuth
) -> Response:
    calendar.delete_focus_block(session, auth.workspace_id, person_id, block_id)
    return Response(status_code=204)
