"""The dashboard: server-rendered pages under ``/``: plans, goals, people, reviews, sync health."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.dashboard import auth
from app.dashboard.errors import PageNotFound
from app.dashboard.rendering import STATIC_DIR, render
from app.dashboard.routes_access import router as access_router
from app.dashboard.routes_plans import router as plans_router
from app.dashboard.routes_team import router as team_router

STATIC_PATH = "/static/dashboard"


def install_dashboard(app: FastAPI) -> None:
    """Mount the pages, their static files, and the answers for sign-in, CSRF and unknown ids."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.include_router(access_router)
    app.include_router(plans_router)
    app.include_router(team_router)

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, auth.SignInRequired)
        target = "/signin" if exc.next_path == "/" else f"/signin?next={quote(exc.next_path)}"
        return RedirectResponse(target, status_code=303)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        message = "The form expired or did not come from this dashboard; nothing was changed."
        return render(
            request, "not_found.html", {"viewer": None, "message": message}, status_code=403
        )

    async def scope_too_narrow(request: Request, exc: Exception) -> Response:
        message = "This token may only read; signing in with a write token allows changes."
        return render(
            request, "not_found.html", {"viewer": None, "message": message}, status_code=403
        )

    async def page_not_found(request: Request, exc: Exception) -> Response:
        message = "There is no such page in this workspace."
        return render(
            request, "not_found.html", {"viewer": None, "message": message}, status_code=404
        )

    app.add_exception_handler(auth.SignInRequired, sign_in_required)
    app.add_exception_handler(auth.CsrfRefused, csrf_refused)
    app.add_exception_handler(auth.ScopeTooNarrow, scope_too_narrow)
    app.add_exception_handler(PageNotFound, page_not_found)


__all__ = ["STATIC_PATH", "install_dashboard"]
