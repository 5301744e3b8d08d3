"""What the Weekly review page shows: one plan's review of a chosen ISO week, "needs help" first.

The review is the API's (``GET /plans/{id}/reviews/{week}``), built by the same service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from app.dashboard.views import find_plan, list_plans
from app.db import utcnow
from app.errors import InvalidField
from app.models import Plan
from app.schemas.reviews import WeeklyReview
from app.schemas.weeks import IsoWeek
from app.services.reviews import weekly_review
from app.settings import Settings


@dataclass
class ReviewPageData:
    plan: Plan | None
    week: IsoWeek
    review: WeeklyReview | None = None
    error: str | None = None


def review_page_data(
    db: Session,
    settings: Settings,
    workspace_id: uuid.UUID,
    plan_text: str | None,
    week_text: str | None,
) -> ReviewPageData:
    week = IsoWeek.of(utcnow().date())
    error = None
    if week_text:
        try:
            week = IsoWeek.parse(week_text, field="week")
        except InvalidField as exc:
            error = exc.detail
    plan = None
    if plan_text:
        try:
            plan = find_plan(db, workspace_id, uuid.UUID(plan_text))
        except ValueError:
            plan = None
        if plan is None:
            error = error or "There is no such plan in this workspace."
    else:
        plans = list_plans(db, workspace_id)
        plan = plans[0] if plans else None
    review = None
    if plan is not None:
        try:
            review = weekly_review(db, workspace_id, plan.id, week, settings)
        except InvalidField as exc:  # a week that has not begun
            error = error or exc.detail
    return ReviewPageData(plan=plan, week=week, review=review, error=error)
