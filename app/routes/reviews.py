"""``/api/v1/plans/{id}/reviews/{iso_week}``: the weekly review as JSON or Markdown."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from app.deps import ReadAuth, SessionDep, SettingsDep
from app.errors import problem_responses
from app.routes.rules_beyond_schema import rules_beyond_schema
from app.schemas.execution import IsoWeekText
from app.schemas.reviews import WeeklyReview
from app.schemas.weeks import IsoWeek
from app.services.review_markdown import render_review_markdown
from app.services.reviews import weekly_review

router = APIRouter(tags=["reviews"])

MARKDOWN = "text/markdown; charset=utf-8"


@router.get(
    "/plans/{plan_id}/reviews/{iso_week}",
    response_model=WeeklyReview,
    responses={**problem_responses(401, 404, 422), 200: {"content": {"text/markdown": {}}}},
    openapi_extra=rules_beyond_schema(("path.iso_week", "a week that has begun")),
)
def get_weekly_review(
    plan_id: uuid.UUID,
    iso_week: Annotated[IsoWeekText, Path(description="ISO week, e.g. 2027-W03")],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    auth: ReadAuth,
    format: Annotated[Literal["json", "md"] | None, Query(description="md for Markdown")] = None,
) -> Response:
    """The review of an ISO week (e.g. 2027-W03); Markdown with ``Accept: text/markdown`` or
    ``?format=md``."""
    week = IsoWeek.parse(iso_week)
    # A finished week's review is stored the first time it is read (see app.services.reviews).
    review = weekly_review(session, auth.workspace_id, plan_id, week, settings, store=True)
    wants_markdown = format == "md" or (
        format is None and "text/markdown" in request.headers.get("accept", "")
    )
    if wants_markdown:
        return Response(render_review_markdown(review), media_type=MARKDOWN)
    return JSONResponse(review.model_dump(mode="json"))
