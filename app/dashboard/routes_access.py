"""Sign-in, sign-out and the read-only share page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.dashboard import auth
from app.dashboard.rendering import render
from app.dashboard.sharing import find_shared_plan
from app.dashboard.views import people_names, plan_overview
from app.deps import SessionDep, SettingsDep
from app.models import Plan

router = APIRouter(include_in_schema=False)


def _signin_form(request: Request, next_path: str, error: str | None, status_code: int) -> Response:
    csrf = secrets.token_urlsafe(32)
    response = render(
        request,
        "signin.html",
        {"csrf_token": csrf, "next_path": next_path, "error": error, "viewer": None},
        status_code=status_code,
    )
    # Double-submit: the form field must equal this cookie, which no other site can read or set.
    auth.set_cookie(request, response, auth.SIGNIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str | None = None) -> Response:
    return _signin_form(request, auth.safe_next_path(next), None, 200)


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    db: SessionDep,
    token: Annotated[str, Form(max_length=200)] = "",
    csrf_token: auth.CsrfField = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    next_path = auth.safe_next_path(next)
    if (
        not auth.tokens_match(request.cookies.get(auth.SIGNIN_CSRF_COOKIE, ""), csrf_token)
        or not csrf_token
    ):
        return _signin_form(
            request,
            next_path,
            "The form expired or did not come from this page; please try again.",
            403,
        )
    opened = auth.open_session(db, token.strip()) if token.strip() else None
    if opened is None:
        return _signin_form(request, next_path, "That token is unknown or revoked.", 401)
    cookie_value, _row = opened
    response = RedirectResponse(next_path, status_code=303)
    max_age = int(auth.SESSION_LIFETIME.total_seconds())
    auth.set_cookie(request, response, auth.SESSION_COOKIE, cookie_value, max_age=max_age)
    auth.clear_cookie(request, response, auth.SIGNIN_CSRF_COOKIE)
    return response


@router.post("/signout")
def signout(
    request: Request,
    db: SessionDep,
    viewer: auth.ViewerDep,
    csrf_token: auth.CsrfField = "",
) -> Response:
    if not auth.tokens_match(viewer.csrf_token, csrf_token):
        raise auth.CsrfRefused()
    auth.close_session(db, request.cookies.get(auth.SESSION_COOKIE))
    response = RedirectResponse("/signin", status_code=303)
    auth.clear_cookie(request, response, auth.SESSION_COOKIE)
    return response


@router.get("/share/{token}", response_class=HTMLResponse)
def shared_plan(request: Request, token: str, db: SessionDep, settings: SettingsDep) -> Response:
    link = find_shared_plan(db, token)
    plan = db.get(Plan, link.plan_id) if link is not None else None
    if link is None or plan is None:
        return render(
            request,
            "not_found.html",
            {"viewer": None, "message": "This share link is unknown or was revoked."},
            status_code=404,
            shared=True,
        )
    names = people_names(db, link.workspace_id)
    overview = plan_overview(db, settings, link.workspace_id, plan, names)
    return render(request, "share.html", {"viewer": None, "overview": overview}, shared=True)
