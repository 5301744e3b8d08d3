"""The personal check-in page, reached from a link: no API token, no password, no JavaScript.

The link's token is the credential (app/services/checkin_links.py). The form carries the link's
CSRF token, so a form posted from another site, which cannot read the page, is refused. Saving
records one check-in per goal through app/services/checkins.py, the rules of ``POST /checkins``.
Pages are sent with ``Referrer-Policy: no-referrer`` so the token never leaves in a Referer.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.dashboard.auth import tokens_match
from app.dashboard.rendering import render
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.errors import InvalidField
from app.schemas.execution import CheckInCreate
from app.schemas.weeks import IsoWeek
from app.services.checkin_drafts import draft_check_in, week_is_frozen
from app.services.checkin_links import FoundLink, LinkState, find_link
from app.services.checkins import record_check_in

router = APIRouter(include_in_schema=False)

CLOSED = {
    LinkState.unknown: (
        404,
        "This check-in link is not known. Check that the whole address was copied, or ask for "
        "a new link.",
    ),
    LinkState.expired: (
        410,
        "This check-in link has expired. Ask for a new one; nothing was changed.",
    ),
    LinkState.revoked: (
        410,
        "This check-in link was revoked. Ask for a new one; nothing was changed.",
    ),
}


def _closed(request: Request, found: FoundLink) -> Response:
    status_code, message = CLOSED[found.state]
    return render(
        request, "checkin_closed.html", {"message": message}, status_code=status_code, shared=True
    )


def _page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    found: FoundLink,
    *,
    saved: bool = False,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    assert found.link is not None and found.person is not None
    now = utcnow()
    draft = draft_check_in(session, found.person, settings, now)
    context: dict[str, Any] = {
        "draft": draft,
        "csrf_token": found.link.csrf_token,
        "expires_at": found.link.expires_at,
        "saved": saved,
        "errors": errors or {},
        "frozen": week_is_frozen(draft.week, now),
    }
    return render(request, "checkin.html", context, status_code=status_code, shared=True)


@router.get("/checkin/{token}")
def checkin_page(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    found = find_link(session, token, utcnow())
    if found.state != LinkState.usable:
        return _closed(request, found)
    return _page(request, session, settings, found, saved=request.query_params.get("saved") == "1")


def _field_error(error: ValidationError, goal_id: uuid.UUID) -> dict[str, str]:
    first = error.errors()[0]
    name = str(first["loc"][-1]) if first["loc"] else "confidence"
    return {f"{name}:{goal_id}": str(first["msg"])}


@router.post("/checkin/{token}")
async def submit_checkin(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    now = utcnow()
    found = find_link(session, token, now)
    if found.state != LinkState.usable or found.link is None or found.person is None:
        return _closed(request, found)
    submitted = form.get("csrf_token")
    if not tokens_match(found.link.csrf_token, submitted if isinstance(submitted, str) else None):
        message = "The form expired or did not come from this page; nothing was changed."
        return render(
            request, "checkin_closed.html", {"message": message}, status_code=403, shared=True
        )
    try:
        week = IsoWeek.parse(str(form.get("iso_week", "")))
    except InvalidField as error:
        return render(
            request, "checkin_closed.html", {"message": error.detail}, status_code=422, shared=True
        )
    if week_is_frozen(week, now):
        message = (
            f"The review of {week} is final, so its check-ins can no longer be changed. "
            "Open the link again for this week's check-in."
        )
        return render(
            request, "checkin_closed.html", {"message": message}, status_code=409, shared=True
        )
    draft = draft_check_in(session, found.person, settings, now)
    for goal in draft.goals:
        values = {
            "owner_id": found.person.id,
            "goal_id": goal.goal.id,
            "iso_week": str(week),
            "confidence": form.get(f"confidence:{goal.goal.id}"),
            "note": form.get(f"note:{goal.goal.id}", ""),
            "blockers": form.get(f"blockers:{goal.goal.id}", ""),
            "needs_help": form.get(f"needs_help:{goal.goal.id}") == "yes",
        }
        try:
            record_check_in(
                session, found.person.workspace_id, CheckInCreate.model_validate(values)
            )
        except ValidationError as error:
            session.rollback()
            return _page(
                request,
                session,
                settings,
                find_link(session, token, now),
                errors=_field_error(error, goal.goal.id),
                status_code=422,
            )
        except InvalidField as error:
            session.rollback()
            return _page(
                request,
                session,
                settings,
                find_link(session, token, now),
                errors={f"{error.field[-1]}:{goal.goal.id}": error.detail},
                status_code=422,
            )
    found.link.last_used_at = now
    session.add(found.link)
    return RedirectResponse(f"/checkin/{token}?saved=1", status_code=303)
