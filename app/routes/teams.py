"""``/api/v1/teams``: named groups with a chat webhook, the channel of members without their own."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.deps import PageDep, ReadAuth, SessionDep, SettingsDep, WriteAuth
from app.errors import problem_responses
from app.routes.paging import page_response
from app.routes.rules_beyond_schema import HOST_ALLOWED, rules_beyond_schema
from app.schemas.common import Page
from app.schemas.people_loop import TeamCreate, TeamPublic
from app.services import teams

router = APIRouter(prefix="/teams", tags=["people"])


@router.get("", response_model=Page[TeamPublic], responses=problem_responses(401, 422))
def list_teams(session: SessionDep, auth: ReadAuth, page: PageDep) -> Response:
    result = teams.list_teams(session, auth.workspace_id, limit=page.limit, offset=page.offset)
    return page_response(Page[TeamPublic], result)


@router.post(
    "",
    status_code=201,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra=rules_beyond_schema(
        ("body.name", "not the name of another team of this workspace"),
        ("body.chat_webhook_url", HOST_ALLOWED),
    ),
)
def create_team(
    body: TeamCreate, session: SessionDep, settings: SettingsDep, auth: WriteAuth
) -> TeamPublic:
    """The webhook URL passes the same address check as a person's and is never shown again;
    a person joins with ``PATCH /people/{id}/channels {"team_id": ...}``."""
    team = teams.create_team(session, auth.workspace_id, body.name, body.chat_webhook_url, settings)
    return TeamPublic.model_validate(team)


@router.delete("/{team_id}", status_code=204, responses=problem_responses(401, 403, 404, 422))
def delete_team(team_id: uuid.UUID, session: SessionDep, auth: WriteAuth) -> Response:
    teams.delete_team(session, auth.workspace_id, team_id)
    return Response(status_code=204)
