"""The dashboard: server-rendered pages under ``/``: plans, goals, people, reviews, sync health."""

from __future__ import annotations

import inspect
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.dashboard import auth
from app.dashboard.errors import PageNotFound
from app.dashboard.rendering import STATIC_DIR, render
from app.dashboard.routes_access import router as access_router
from app.dashboard.routes_checkin import router as checkin_router
from app.dashboard.routes_plan_import import router as plan_import_router
from app.dashboard.routes_plans import router as plans_router
from app.dashboard.routes_team import router as team_router
from app.dashboard.routes_unsubscribe import router as unsubscribe_router

STATIC_PATH = "/static/dashboard"


def signed_in_viewer(request: Request) -> auth.Viewer | None:
    """Who is signed in, so an error page keeps the navigation (its handler has no dependencies)."""
    with Session(request.app.state.engine) as db:
        return auth.find_viewer(db, request.cookies.get(auth.SESSION_COOKIE))


def error_page(request: Request, message: str, status_code: int) -> Response:
    context = {"viewer": signed_in_viewer(request), "message": message}
    return render(request, "not_found.html", context, status_code=status_code)


def asks_for_a_page(request: Request) -> bool:
    """A browser navigating outside the API: it should see a page, not a JSON problem."""
    return (
        request.method in ("GET", "HEAD")
        and "text/html" in request.headers.get("accept", "")
        and not request.url.path.startswith("/api/")
    )


def install_dashboard(app: FastAPI) -> None:
    """Mount the pages, their static files, and the answers for sign-in, CSRF and unknown ids."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.include_router(access_router)
    app.include_router(checkin_router)
    app.include_router(unsubscribe_router)
    app.include_router(plans_router)
    app.include_router(plan_import_router)
    app.include_router(team_router)

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, auth.SignInRequired)
        target = "/signin" if exc.next_path == "/" else f"/signin?next={quote(exc.next_path)}"
        return RedirectResponse(target, status_code=303)

    # Plain functions: Starlette runs them in its thread pool, where the session lookup may block.
    def csrf_refused(request: Request, exc: Exception) -> Response:
        message = "The form expired or did not come from this dashboard; nothing was changed."
        return error_page(request, message, 403)

    def scope_too_narrow(request: Request, exc: Exception) -> Response:
        message = "This token may only read; signing in with a write token allows changes."
        return error_page(request, message, 403)

    def page_not_found(request: Request, exc: Exception) -> Response:
        return error_page(request, "There is no such page in this workspace.", 404)

    app.add_exception_handler(auth.SignInRequired, sign_in_required)
    app.add_exception_handler(auth.CsrfRefused, csrf_refused)
    app.add_exception_handler(auth.ScopeTooNarrow, scope_too_narrow)
    # A mistyped address (no route at all) is answered by the app's JSON problem handler; a
    # browser asking for a page gets the dashboard's 404 instead. Everything else goes on as before.
    answer_http_error = app.exception_handlers.get(StarletteHTTPException)

    async def no_such_address(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and asks_for_a_page(request):
            page: Response = await run_in_threadpool(page_not_found, request, exc)
            return page
        if answer_http_error is None:
            raise exc
        answer = answer_http_error(request, exc)
        response: Response = await answer if inspect.isawaitable(answer) else answer
        return response

    app.add_exception_handler(PageNotFound, page_not_found)
    app.add_exception_handler(StarletteHTTPException, no_such_address)


__all__ = ["STATIC_PATH", "install_dashboard"]
