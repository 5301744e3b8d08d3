"""Plans, one plan with its share links, one goal with its items, and the retry of a dead sync."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.dashboard import auth
from app.dashboard.charts import render_burnup_svg
from app.dashboard.errors import PageNotFound, parse_id
from app.dashboard.rendering import render
from app.dashboard.sharing import create_share_link, list_share_links, revoke_share_link
from app.dashboard.sync_actions import queue_retry
from app.dashboard.views import (
    all_plan_overviews,
    find_goal,
    find_plan,
    goal_detail,
    people_names,
    plan_overview,
)
from app.deps import SessionDep, SettingsDep
from app.models import ActionItem

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def plans_page(
    request: Request, db: SessionDep, settings: SettingsDep, viewer: auth.ViewerDep
) -> Response:
    overviews = all_plan_overviews(db, settings, viewer.workspace_id)
    return render(request, "plans.html", {"viewer": viewer, "overviews": overviews})


def _plan_page(
    request: Request,
    db: SessionDep,
    viewer: auth.Viewer,
    plan_id: uuid.UUID,
    new_share_url: str | None = None,
) -> Response:
    settings = request.app.state.settings
    plan = find_plan(db, viewer.workspace_id, plan_id)
    if plan is None:
        raise PageNotFound()
    names = people_names(db, viewer.workspace_id)
    overview = plan_overview(db, settings, viewer.workspace_id, plan, names)
    links = list_share_links(db, viewer.workspace_id, plan.id)
    context = {
        "viewer": viewer,
        "overview": overview,
        "share_links": links,
        "new_share_url": new_share_url,
        "notice": request.query_params.get("notice"),
    }
    return render(request, "plan.html", context)


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(request: Request, plan_id: str, db: SessionDep, viewer: auth.ViewerDep) -> Response:
    return _plan_page(request, db, viewer, parse_id(plan_id))


@router.post("/plans/{plan_id}/share-links", response_class=HTMLResponse)
def create_share(
    request: Request,
    plan_id: str,
    db: SessionDep,
    viewer: auth.ViewerDep,
    csrf_token: auth.CsrfField = "",
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    auth.require_form_write(viewer, csrf_token)
    issued = create_share_link(
        db, viewer.workspace_id, parse_id(plan_id), actor=viewer.actor, label=label
    )
    if issued is None:
        raise PageNotFound()
    # The token is shown once, in this answer; only its hash is kept.
    share_url = str(request.url_for("shared_plan", token=issued.token))
    return _plan_page(request, db, viewer, issued.record.plan_id, new_share_url=share_url)


@router.post("/plans/{plan_id}/share-links/{link_id}/revoke")
def revoke_share(
    plan_id: str,
    link_id: str,
    db: SessionDep,
    viewer: auth.ViewerDep,
    csrf_token: auth.CsrfField = "",
) -> Response:
    auth.require_form_write(viewer, csrf_token)
    record = revoke_share_link(db, viewer.workspace_id, parse_id(link_id))
    if record is None or record.plan_id != parse_id(plan_id):
        raise PageNotFound()
    return RedirectResponse(f"/plans/{record.plan_id}?notice=share-link-revoked", status_code=303)


@router.get("/goals/{goal_id}", response_class=HTMLResponse)
def goal_page(
    request: Request, goal_id: str, db: SessionDep, settings: SettingsDep, viewer: auth.ViewerDep
) -> Response:
    goal = find_goal(db, viewer.workspace_id, parse_id(goal_id))
    if goal is None:
        raise PageNotFound()
    detail = goal_detail(db, settings, viewer.workspace_id, goal)
    # Drawn against the deadline the health figures judge by (the target, else the plan's end),
    # and the forecast service's finish date: the chart never computes a forecast of its own.
    chart = render_burnup_svg(
        detail.burnup,
        title=f"Burn-up of {goal.title}",
        start=detail.plan.start_date,
        end=detail.row.deadline or detail.plan.end_date,
        end_label="target" if goal.target_date else "plan end",
        forecast=detail.row.forecast_date,
    )
    context = {
        "viewer": viewer,
        "detail": detail,
        "chart": chart,
        "notice": request.query_params.get("notice"),
    }
    return render(request, "goal.html", context)


@router.post("/sync/links/{link_id}/retry")
def retry_link(
    link_id: str,
    db: SessionDep,
    viewer: auth.ViewerDep,
    csrf_token: auth.CsrfField = "",
) -> Response:
    auth.require_form_write(viewer, csrf_token)
    link = queue_retry(db, viewer.workspace_id, parse_id(link_id))
    if link is None:
        raise PageNotFound()
    goal_id = link.goal_id
    if link.item_id is not None:
        item = db.get(ActionItem, link.item_id)
        goal_id = item.goal_id if item is not None else goal_id
    target = f"/goals/{goal_id}" if goal_id else "/attention"
    return RedirectResponse(f"{target}?notice=retry-queued", status_code=303)
