"""The per-person iCalendar feed and its revocable feed tokens (the feed needs no API token)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.deps import ReadAuth, SessionDep, SettingsDep, WriteAuth
from app.errors import problem_responses
from app.schemas.execution import FeedTokenCreated, FeedTokenPublic
from app.services import calendar

router = APIRouter(prefix="/people/{person_id}", tags=["focus time"])


@router.post(
    "/calendar-tokens", status_code=201, responses=problem_responses(401, 403, 404, 413, 422)
)
def create_feed_token(
    person_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    auth: WriteAuth,
) -> FeedTokenCreated:
    """A feed token for calendar apps; shown once, inside the subscription URL."""
    token, record = calendar.create_feed_token(session, auth.workspace_id, person_id)
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return FeedTokenCreated(
        id=record.id,
        person_id=record.person_id,
        token=token,
        url=f"{base}/api/v1/people/{person_id}/calendar.ics?token={token}",
        created_at=record.created_at,
    )


@router.get("/calendar-tokens", responses=problem_responses(401, 404, 422))
def list_feed_tokens(
    person_id: uuid.UUID, session: SessionDep, auth: ReadAuth
) -> list[FeedTokenPublic]:
    return [
        FeedTokenPublic.model_validate(row)
        for row in calendar.list_feed_tokens(session, auth.workspace_id, person_id)
    ]


@router.delete(
    "/calendar-tokens/{token_id}", status_code=204, responses=problem_responses(401, 403, 404, 422)
)
def revoke_feed_token(
    person_id: uuid.UUID, token_id: uuid.UUID, session: SessionDep, auth: WriteAuth
) -> Response:
    """Revoke a feed token: calendar apps using it get 404 from then on."""
    calendar.revoke_feed_token(session, auth.workspace_id, person_id, token_id)
    return Response(status_code=204)


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={**problem_responses(404, 422), 200: {"content": {"text/calendar": {}}}},
)
def calendar_feed(
    person_id: uuid.UUID,
    session: SessionDep,
    token: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    """Focus blocks as weekly events and open items' due dates; authenticated by the feed token
    only."""
    person = calendar.person_for_feed_token(session, person_id, token)
    return Response(
        calendar.render_feed(session, person), media_type="text/calendar; charset=utf-8"
    )
