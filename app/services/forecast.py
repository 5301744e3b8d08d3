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
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from app.models import ActionItem, ItemStatus

VELOCITY_WINDOW = timedelta(weeks=4)


@dataclass(frozen=True)
class Velocity:
    hours_per_week: float
    last_done_at: datetime | None


def velocities(
    session: Session, workspace_id: uuid.UUID, goal_ids: Select[Any], now: datetime
) -> dict[uuid.UUID, Velocity]:
    """Per goal completed hours per week over the four weeks before ``now`` (one query)."""
    window_start = now - VELOCITY_WINDOW
    recent = func.sum(ActionItem.estimate_hours).filter(col(ActionItem.done_at) > window_start)
    query = (
        select(col(ActionItem.goal_id), func.coalesce(recent, 0.0), func.max(ActionItem.done_at))
        .where(
            col(ActionItem.workspace_id) == workspace_id,
            col(ActionItem.goal_id).in_(goal_ids),
            col(ActionItem.status) == ItemStatus.done,
            col(ActionItem.done_at) <= now,
        )
        .group_by(col(ActionItem.goal_id))
    )
    result: dict[uuid.UUID, Velocity] = {}
    for goal_id, hours, last_done in session.execute(query):
        if last_done is not None and last_done.tzinfo is None:
            last_done = last_done.replace(tzinfo=UTC)  # aggregates bypass the column type on SQLite
        result[goal_id] = Velocity(round(float(hours) / 4.0, 4), last_done)
    return result


def forecast_finish(remaining_hours: float, velocity: Velocity | None, today: date) -> date | None:
    if remaining_hours <= 1e-9:
        if velocity is not None and velocity.last_done_at is not None:
            return velocity.last_done_at.astimezone(UTC).date()
        return None
    if velocity is None or velocity.hours_per_week <= 0:
        return None
    return today + timedelta(days=math.ceil(7.0 * remaining_hours / velocity.hours_per_week))
