"""``/api/v1/people/{id}/checkin-links``: personal check-in links (the URL is answered once)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.db import utcnow
from app.deps import ReadAuth, SessionDep, SettingsDep, WriteAuth
from app.errors import problem_responses
from app.schemas.people_loop import CheckInLinkIssued, CheckInLinkPublic
from app.services import checkin_links

router = APIRouter(prefix="/people/{person_id}/checkin-links", tags=["people"])


@router.post("", status_code=201, responses=problem_responses(401, 403, 404, 422))
def issue_checkin_link(
    person_id: uuid.UUID, session: SessionDep, settings: SettingsDep, auth: WriteAuth
) -> CheckInLinkIssued:
    """A new link to the person's check-in page, valid ``PLANBRIDGE_CHECKIN_LINK_DAYS`` days
    (14 by default) and usable for corrections until then; the URL is not shown again."""
    link, token = checkin_links.issue_link(
        session, auth.workspace_id, person_id, settings, utcnow()
    )
    return CheckInLinkIssued.model_validate(
        {
            **CheckInLinkPublic.model_validate(link).model_dump(),
            "url": checkin_links.checkin_url(settings, token),
        }
    )


@router.get("", responses=problem_responses(401, 404, 422))
def list_checkin_links(
    person_id: uuid.UUID, session: SessionDep, auth: ReadAuth
) -> list[CheckInLinkPublic]:
    links = checkin_links.list_links(session, auth.workspace_id, person_id)
    return [CheckInLinkPublic.model_validate(link) for link in links]


@router.delete(
    "/{link_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
def revoke_checkin_link(
    person_id: uuid.UUID, link_id: uuid.UUID, session: SessionDep, auth: WriteAuth
) -> None:
    """Revoke the link: its page then says so and accepts nothing."""
    checkin_links.revoke_link(session, auth.workspace_id, person_id, link_id, utcnow())
