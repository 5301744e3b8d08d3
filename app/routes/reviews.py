"""``/api/v1/plans/{id}/reviews/{iso_week}``: the weekly review as JSON or Markdown."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from app.deps import ReadAuth, SessionDep, SettingsDep
from app.errors import problem_responses
from app.schemas.execution import IsoWeekText
from app.schemas.weeks import IsoWeek
from app.services.reviews import ReviewItem, WeeklyReview, weekly_review

router = APIRouter(tags=["reviews"])

MARKDOWN = "text/markdown; charset=utf-8"


def _items(title: str, items: list[ReviewItem]) -> list[str]:
    if not items:
        return []
    lines = [f"**{title}**", ""]
    lines += [
        f"- {item.title} ({item.owner}, {item.estimate_hours:g} h, due {item.due_date})"
        for item in items
    ]
    return [*lines, ""]


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} %"


def render_review_markdown(review: WeeklyReview) -> str:
    """The review as Markdown: needs help first, then per goal, capacity and check-ins."""
    lines = [f"# {review.plan}: weekly review {review.iso_week}", ""]
    lines.append(
        f"{review.week_start} to {review.week_end}"
        + ("" if review.complete else " (week in progress)")
    )
    lines.append("")
    if review.needs_help:
        lines += ["## Needs help", ""]
        for entry in review.needs_help:
            blockers = f" Blockers: {entry.blockers}" if entry.blockers else ""
            lines.append(
                f"- **{entry.goal}** ({entry.owner}, {entry.confidence}): "
                f"{entry.note}{blockers}".rstrip()
            )
        lines.append("")
    lines += ["## Goals", ""]
    for goal in review.goals:
        change = "n/a" if goal.change is None else f"{goal.change:+g} points"
        lines += [
            f"### {goal.title}",
            "",
            f"Progress {_percent(goal.percent_start)} -> {_percent(goal.percent_end)} ({change}); "
            f"owner {goal.owner}",
            "",
        ]
        lines += _items("Done", goal.done) + _items("Started", goal.started)
        lines += _items("Newly blocked", goal.newly_blocked) + _items("Overdue", goal.overdue)
        lines += _items("Stale", goal.stale) + _items("Due next week", goal.due_next_week)
    if review.over_capacity:
        lines += ["## Over capacity", ""]
        lines += [
            f"- {entry.name}: {entry.planned_hours:g} h planned, {entry.capacity_hours:g} h "
            f"capacity (+{entry.over_by:g} h)"
            for entry in review.over_capacity
        ]
        lines.append("")
    lines += ["## Check-ins", ""]
    lines += [
        f"- {entry.goal} ({entry.owner}): {entry.confidence}. {entry.note}".rstrip()
        for entry in review.check_ins
    ]
    if not review.check_ins:
        lines.append("- none received")
    if review.missing_check_ins:
        lines += [
            "",
            "Missing: "
            + ", ".join(f"{entry.goal} ({entry.owner})" for entry in review.missing_check_ins),
        ]
    return "\n".join(lines).rstrip() + "\n"


@router.get(
    "/plans/{plan_id}/reviews/{iso_week}",
    response_model=WeeklyReview,
    responses={**problem_responses(401, 404, 422), 200: {"content": {"text/markdown": {}}}},
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
    review = weekly_review(session, auth.workspace_id, plan_id, week, settings)
    wants_markdown = format == "md" or (
        format is None and "text/markdown" in request.headers.get("accept", "")
    )
    if wants_markdown:
        return Response(render_review_markdown(review), media_type=MARKDOWN)
    return JSONResponse(review.model_dump(mode="json"))
