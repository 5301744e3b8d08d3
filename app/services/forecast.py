"""Velocity and forecast finish date per goal.

Velocity = hours of the goal's items finished (``done_at``) in the 28 days before now, divided by 4:
completed hours per week over the last four weeks. Forecast = today + remaining hours / velocity
weeks, rounded up to a whole day. No velocity and work left: no forecast (``None``), never a guess.
Nothing left: the day the last item was finished.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.models import ActionItem, Goal, ItemStatus
from app.services.progress import GoalIds

VELOCITY_WINDOW = timedelta(weeks=4)


@dataclass(frozen=True)
class Velocity:
    hours_per_week: float
    last_done_at: datetime | None


def velocities(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: GoalIds,
    now: datetime,
) -> dict[uuid.UUID, Velocity]:
    """Per goal completed hours per week over the four weeks before ``now``, and the last finish.

    Two reads of the covering index ix_action_item_goal_health (goal, status, done_at, ...),
    no table row: the window's range per goal for the hours, one backward probe per goal for the
    last finish. ``goal_ids`` must be the workspace's already (every caller scopes them), so the
    item rows need no workspace condition.
    """
    window_start = now - VELOCITY_WINDOW
    done = (col(ActionItem.status) == ItemStatus.done, col(ActionItem.done_at) <= now)
    recent = (
        select(col(ActionItem.goal_id), func.sum(ActionItem.estimate_hours))
        .where(col(ActionItem.goal_id).in_(goal_ids), *done, col(ActionItem.done_at) > window_start)
        .group_by(col(ActionItem.goal_id))
    )
    hours = {goal_id: float(total or 0.0) for goal_id, total in session.execute(recent)}
    goal_id = (
        select(col(Goal.id).label("goal_id")).where(col(Goal.id).in_(goal_ids)).subquery().c.goal_id
    )
    last_done_at = (
        select(func.max(ActionItem.done_at))
        .where(col(ActionItem.goal_id) == goal_id, *done)
        .scalar_subquery()
    )
    result: dict[uuid.UUID, Velocity] = {}
    for goal, last_done in session.execute(select(goal_id, last_done_at.label("last_done_at"))):
        if last_done is None:
            continue  # nothing finished yet: no velocity entry, as before
        # The scalar subquery keeps the column's type: aware UTC on both backends.
        result[goal] = Velocity(round(hours.get(goal, 0.0) / 4.0, 4), last_done)
    return result


def forecast_finish(remaining_hours: float, velocity: Velocity | None, today: date) -> date | None:
    if remaining_hours <= 1e-9:
        if velocity is not None and velocity.last_done_at is not None:
            return velocity.last_done_at.astimezone(UTC).date()
        return None
    if velocity is None or velocity.hours_per_week <= 0:
        return None
    return today + timedelta(days=math.ceil(7.0 * remaining_hours / velocity.hours_per_week))
