"""Progress per goal and plan, weighted by estimate, and its change since a week ago.

Rule: progress = hours of done items / hours of items that are not dropped. A goal without such
hours has no progress value (``None``), not 0 % or 100 %. Current figures are one aggregate query
over the covering index ix_action_item_goal_rollup. The figure a week ago (or at any instant) is
today's minus the changes the goal hours ledger recorded since (``app.models.hours_ledger``: each
event with a snapshot writes what it changed in its goals' hours), one range of the ledger's
covering index; its cost follows the number of changes in the window, never the number of items.
Items deleted since the instant count as they were then (the ``deleted`` event took their hours
out).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from app.db import utcnow
from app.errors import NotFound
from app.models import ActionItem, Goal, GoalHoursChange, ItemStatus, Plan


class GoalProgress(BaseModel):
    goal_id: uuid.UUID
    title: str
    total_hours: float
    done_hours: float
    item_count: int
    done_count: int
    percent: float | None
    percent_week_ago: float | None
    change: float | None  # percentage points since a week ago


class PlanProgress(BaseModel):
    plan_id: uuid.UUID
    total_hours: float
    done_hours: float
    percent: float | None
    percent_week_ago: float | None
    change: float | None
    goals: list[GoalProgress]


@dataclass
class Hours:
    total: float = 0.0
    done: float = 0.0

    def add(self, status: str | None, estimate: float | None, sign: float = 1.0) -> None:
        if status is None or status == ItemStatus.dropped:
            return
        self.total += sign * (estimate or 0.0)
        if status == ItemStatus.done:
            self.done += sign * (estimate or 0.0)


def percent(done: float, total: float) -> float | None:
    # Rounding to 0.01 keeps float noise from the subtraction out of the API.
    if total <= 1e-9:
        return None
    return round(100.0 * done / total, 2)


def change(now: float | None, before: float | None) -> float | None:
    if now is None and before is None:
        return None
    return round((now or 0.0) - (before or 0.0), 2)


# The goals to roll up: the workspace's already (every caller scopes them), as ids or a query.
# Ids in hand are better: PostgreSQL then reads the covering indexes in order for ``goal_id =
# ANY(...)`` and aggregates as it goes, where ``IN (subquery)`` hash-joins every item (3x slower).
GoalIds = Select[Any] | Sequence[uuid.UUID]


def current_hours(
    session: Session, workspace_id: uuid.UUID, goal_ids: GoalIds
) -> dict[uuid.UUID, tuple[Hours, int, int]]:
    """Per goal: hours (not dropped / done), item count (not dropped) and done count, in one
    query."""
    # No item-level workspace condition: ``goal_ids`` is scoped to the workspace already, and the
    # query then reads only the covering index ix_action_item_goal_rollup.
    query = (
        select(
            col(ActionItem.goal_id),
            col(ActionItem.status),
            func.sum(ActionItem.estimate_hours),
            func.count(),
        )
        .where(col(ActionItem.goal_id).in_(goal_ids))
        .group_by(col(ActionItem.goal_id), col(ActionItem.status))
    )
    result: dict[uuid.UUID, tuple[Hours, int, int]] = {}
    for goal_id, status, hours, count in session.execute(query):
        entry_hours, item_count, done_count = result.get(goal_id, (Hours(), 0, 0))
        entry_hours.add(status, float(hours or 0.0))
        if status != ItemStatus.dropped:
            item_count += int(count)
        if status == ItemStatus.done:
            done_count += int(count)
        result[goal_id] = (entry_hours, item_count, done_count)
    return result


def hours_at(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: GoalIds,
    now_hours: dict[uuid.UUID, Hours],
    at: datetime,
) -> dict[uuid.UUID, Hours]:
    """Per goal hours at ``at``: today's figures (``now_hours``, as ``current_hours`` gives them)
    minus every change the ledger recorded after ``at``, summed per goal in the database.

    One range of the covering index ix_goal_hours_change_workspace_at, whatever the number of
    items touched since ``at``.
    """
    changes = (
        select(
            col(GoalHoursChange.goal_id),
            func.sum(GoalHoursChange.total_hours),
            func.sum(GoalHoursChange.done_hours),
        )
        .where(
            col(GoalHoursChange.workspace_id) == workspace_id,
            col(GoalHoursChange.at) > at,
            col(GoalHoursChange.goal_id).in_(goal_ids),
        )
        .group_by(col(GoalHoursChange.goal_id))
    )
    before = {goal_id: Hours(hours.total, hours.done) for goal_id, hours in now_hours.items()}
    for goal_id, total, done in session.execute(changes):
        hours = before.setdefault(goal_id, Hours())
        # Rounded to keep float noise of the subtraction (e.g. 1e-16 done hours) out of the API.
        hours.total = round(hours.total - float(total or 0.0), 6)
        hours.done = round(hours.done - float(done or 0.0), 6)
    return before


def _goal_progress(
    goal: Goal, now: tuple[Hours, int, int] | None, before: Hours | None
) -> GoalProgress:
    hours, count, done_count = now or (Hours(), 0, 0)
    now_percent = percent(hours.done, hours.total)
    before_percent = percent(before.done, before.total) if before else None
    return GoalProgress(
        goal_id=goal.id,
        title=goal.title,
        total_hours=round(hours.total, 2),
        done_hours=round(hours.done, 2),
        item_count=count,
        done_count=done_count,
        percent=now_percent,
        percent_week_ago=before_percent,
        change=change(now_percent, before_percent),
    )


def _progress_for_goals(
    session: Session,
    workspace_id: uuid.UUID,
    goals: Iterable[Goal],
    now: datetime,
) -> tuple[list[GoalProgress], Hours, Hours]:
    """Per goal progress, plus the summed hours now and a week ago (for the plan figure)."""
    goals = list(goals)
    goal_ids = [goal.id for goal in goals]
    current = current_hours(session, workspace_id, goal_ids)
    now_hours = {goal_id: entry[0] for goal_id, entry in current.items()}
    before = hours_at(session, workspace_id, goal_ids, now_hours, now - timedelta(days=7))
    total_now, total_before = Hours(), Hours()
    for goal in goals:
        total_now.total += now_hours.get(goal.id, Hours()).total
        total_now.done += now_hours.get(goal.id, Hours()).done
        total_before.total += before.get(goal.id, Hours()).total
        total_before.done += before.get(goal.id, Hours()).done
    per_goal = [_goal_progress(goal, current.get(goal.id), before.get(goal.id)) for goal in goals]
    return per_goal, total_now, total_before


def get_goal(session: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID) -> Goal:
    goal = session.get(Goal, goal_id)
    if goal is None or goal.workspace_id != workspace_id:
        raise NotFound(f"Goal {goal_id} not found.")
    return goal


def get_plan(session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None or plan.workspace_id != workspace_id:
        raise NotFound(f"Plan {plan_id} not found.")
    return plan


def plan_goals(session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID) -> list[Goal]:
    query = (
        select(Goal)
        .where(col(Goal.workspace_id) == workspace_id, col(Goal.plan_id) == plan_id)
        .order_by(col(Goal.created_at), col(Goal.id))
    )
    return list(session.scalars(query))


def goal_progress(
    session: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID, *, now: datetime | None = None
) -> GoalProgress:
    goal = get_goal(session, workspace_id, goal_id)
    return _progress_for_goals(session, workspace_id, [goal], now or utcnow())[0][0]


def plan_progress(
    session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID, *, now: datetime | None = None
) -> PlanProgress:
    plan = get_plan(session, workspace_id, plan_id)
    goals = plan_goals(session, workspace_id, plan.id)
    per_goal, hours_now, hours_before = _progress_for_goals(
        session, workspace_id, goals, now or utcnow()
    )
    now_percent = percent(hours_now.done, hours_now.total)
    before_percent = percent(hours_before.done, hours_before.total)
    return PlanProgress(
        plan_id=plan.id,
        total_hours=round(hours_now.total, 2),
        done_hours=round(hours_now.done, 2),
        percent=now_percent,
        percent_week_ago=before_percent,
        change=change(now_percent, before_percent),
        goals=per_goal,
    )
