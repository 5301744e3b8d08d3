"""People, the weekly review, what needs attention, and the health of the tracker connections."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.dashboard import auth
from app.dashboard.rendering import render
from app.dashboard.views import list_plans
from app.dashboard.views_attention import attention_overview
from app.dashboard.views_people import people_overview
from app.dashboard.views_review import review_page_data
from app.dashboard.views_sync import connections_overview
from app.deps import SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)


@router.get("/people", response_class=HTMLResponse)
def people_page(
    request: Request, db: SessionDep, settings: SettingsDep, viewer: auth.ViewerDep
) -> Response:
    overview = people_overview(db, settings, viewer.workspace_id)
    return render(request, "people.html", {"viewer": viewer, "overview": overview})


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
