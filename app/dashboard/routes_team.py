"""People, the weekly review, what needs attention, and the health of the tracker connections."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.dashboard import auth
from app.dashboard.errors import parse_id, unknown_id_as_page_not_found
from app.dashboard.rendering import render
from app.dashboard.views import list_plans
from app.dashboard.views_attention import attention_overview
from app.dashboard.views_checkins import check_in_loop
from app.dashboard.views_people import people_overview
from app.dashboard.views_review import review_page_data
from app.dashboard.views_sync import connections_overview
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.models import Scope
from app.services import calendar
from app.services.checkin_resend import resend_checkin_link

router = APIRouter(include_in_schema=False)


def _people_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    viewer: auth.Viewer,
    new_feed: tuple[uuid.UUID, str] | None = None,
) -> Response:
    overview = people_overview(db, settings, viewer.workspace_id)
    people = [row.person for row in overview.people]
    context = {
        "viewer": viewer,
        "overview": overview,
        "checkins": check_in_loop(db, settings, people, utcnow()),
        "new_feed": new_feed,
        "notice": request.query_params.get("notice"),
    }
    return render(request, "people.html", context)


@router.get("/people", response_class=HTMLResponse)
def people_page(
    request: Request, db: SessionDep, settings: SettingsDep, viewer: auth.ViewerDep
) -> Response:
    return _people_page(request, db, settings, viewer)


@router.post("/people/{person_id}/calendar-links", response_class=HTMLResponse)
def create_calendar_link(
    request: Request,
    person_id: str,
    db: SessionDep,
    settings: SettingsDep,
    viewer: auth.ViewerDep,
    csrf_token: auth.CsrfField = "",
) -> Response:
    """A calendar feed URL, shown once (the same token ``POST .../calendar-tokens`` issues)."""
    auth.require_form_write(viewer, csrf_token)
    with unknown_id_as_page_not_found():
        token, record = calendar.create_feed_token(db, viewer.workspace_id, parse_id(person_id))
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    url = f"{base}/api/v1/people/{record.person_id}/calendar.ics?token={token}"
    return _people_page(request, db, settings, viewer, new_feed=(record.person_id, url))


@router.post("/people/{person_id}/calendar-links/{token_id}/revoke")
def revoke_calendar_link(
    person_id: str,
    token_id: str,
    db: SessionDep,
    viewer: auth.ViewerDep,
    csrf_token: auth.CsrfField = "",
) -> Response:
    auth.require_form_write(viewer, csrf_token)
    with unknown_id_as_page_not_found():
        calendar.revoke_feed_token(db, viewer.workspace_id, parse_id(person_id), parse_id(token_id))
    return RedirectResponse("/people?notice=calendar-link-revoked", status_code=303)


@router.post("/people/{person_id}/checkin-link")
def send_checkin_link_again(
    person_id: str,
    db: SessionDep,
    settings: SettingsDep,
    viewer: auth.ViewerDep,
    csrf_token: auth.CsrfField = "",
) -> Response:
    """A fresh check-in link to the person, now (admin tokens: it reaches a person's inbox)."""
    auth.require_form_write(viewer, csrf_token)
    if not viewer.scope.allows(Scope.admin):
        raise auth.ScopeTooNarrow()
    with unknown_id_as_page_not_found():
        queued = resend_checkin_link(
            db, viewer.workspace_id, parse_id(person_id), settings, utcnow()
        )
    notice = "checkin-link-sent" if queued else "checkin-link-unreachable"
    return RedirectResponse(f"/people?notice={notice}#checkins", status_code=303)


@router.get("/reviews", response_class=HTMLResponse)
def review_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    viewer: auth.ViewerDep,
    plan: str | None = None,
    week: str | None = None,
) -> Response:
    data = review_page_data(db, settings, viewer.workspace_id, plan, week)
    context = {"viewer": viewer, "data": data, "plans": list_plans(db, viewer.workspace_id)}
    return render(request, "review.html", context, status_code=422 if data.error else 200)


@router.get("/attention", response_class=HTMLResponse)
def attention_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    viewer: auth.ViewerDep,
    plan: str | None = None,
) -> Response:
    data = attention_overview(db, settings, viewer.workspace_id, plan)
    context = {"viewer": viewer, "data": data, "plans": list_plans(db, viewer.workspace_id)}
    return render(request, "attention.html", context)


@router.get("/connections", response_class=HTMLResponse)
def connections_page(
    request: Request, db: SessionDep, settings: SettingsDep, viewer: auth.ViewerDep
) -> Response:
    rows = connections_overview(db, settings, viewer)
    return render(request, "connections.html", {"viewer": viewer, "rows": rows})
