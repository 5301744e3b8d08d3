"""Health per goal: ``done``, ``on_track``, ``at_risk`` or ``off_track``, with its reasons.

Inputs (all for items not dropped): remaining hours (open items: todo, in progress, blocked), the
deadline (the goal's target date, else its plan's end date), the owners' strategic hours left (for
each owner of an open item: weekly capacity x working days from today through the deadline / 5;
owners with undeclared capacity add nothing), overdue items (open, due before today), blocked items,
stale items (``app.services.staleness``: in progress without activity for ``stale_after_days``, or
not started in time), and the velocity forecast.

Rules, first match wins:

1. No item that is not dropped: ``at_risk`` (``no_items``: a goal without planned work cannot be
   on track).
2. Nothing open: ``done``.
3. ``off_track`` when the deadline has passed (``deadline_passed``), or the remaining hours exceed
   the owners' hours left (``over_capacity``, only when some owner has a capacity), or overdue
   items hold at least half of the remaining hours (``mostly_overdue``).
4. ``at_risk`` when the remaining hours exceed 80 % of the owners' hours left (``tight_capacity``),
   or any item is overdue (``overdue_items``), blocked (``blocked_items``) or stale
   (``stale_items``), or the forecast finish date is after the deadline
   (``forecast_after_deadline``).
5. Otherwise ``on_track``.

Every rule that applies is listed in ``reasons`` (not only the deciding one). The latest check-in's
confidence is shown beside the computed health; ``disagreement`` is true when the two differ (a goal
computed as ``done`` disagrees with nothing).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import case, exists, func, select
from sqlmodel import Session, col

from app.db import utcnow
from app.models import ActionItem, Goal, ItemStatus, Person, Plan
from app.models.execution import CheckIn
from app.schemas.weeks import IsoWeek, working_days
from app.services.capacity import PersonLoad, person_loads, weekly_capacity
from app.services.forecast import Velocity, forecast_finish, velocities
from app.services.item_rules import OPEN_STATUSES
from app.services.progress import GoalIds, get_goal, get_plan, plan_goals
from app.services.staleness import quiet_since, stale_condition
from app.services.wording import count_of, is_are
from app.settings import Settings

TIGHT_CAPACITY_SHARE = 0.8
MOSTLY_OVERDUE_SHARE = 0.5


class Health(StrEnum):
    done = "done"
    on_track = "on_track"
    at_risk = "at_risk"
    off_track = "off_track"


class Reason(BaseModel):
    code: str
    severity: Health
    message: str


class GoalHealth(BaseModel):
    goal_id: uuid.UUID
    title: str
    health: Health
    reasons: list[Reason]
    deadline: date
    remaining_hours: float
    available_hours: float | None  # None: no owner of open work has a declared capacity
    overdue_items: int
    blocked_items: int
    stale_items: int
    velocity_hours_per_week: float
    forecast_finish: date | None
    confidence: str | None  # from the latest check-in
    confidence_week: str | None
    disagreement: bool


class PlanHealth(BaseModel):
    plan_id: uuid.UUID
    goals: list[GoalHealth]


class _Figures:
    def __init__(self) -> None:
        self.planned = False  # some item is not dropped
        self.remaining = 0.0
        self.overdue_hours = 0.0
        self.overdue = 0
        self.blocked = 0
        self.stale = 0
        self.remaining_by_owner: dict[uuid.UUID, float] = {}


def _figures(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: GoalIds,
    today: date,
    quiet_before: datetime,
) -> dict[uuid.UUID, _Figures]:
    """Per goal: whether it has planned work (an item not dropped), and its open items' figures.

    The figures are per owner, from the open items only.
    Most items of a running plan are done; reading only the open ones' index entries (a fifth of
    them in the benchmark), never their table rows, is what keeps this near the index scan's cost.
    """
    figures: dict[uuid.UUID, _Figures] = defaultdict(_Figures)
    # The goal ids are already the workspace's (every caller scopes them), and an item lives in
    # its goal's workspace: without the workspace column, whether a goal has planned work is one
    # probe of the (goal, status) index per goal, and the open items' figures come from
    # ix_action_item_goal_health alone, no table row.
    goal_id = (
        select(col(Goal.id).label("goal_id")).where(col(Goal.id).in_(goal_ids)).subquery().c.goal_id
    )
    has_planned_work = exists().where(
        col(ActionItem.goal_id) == goal_id, col(ActionItem.status) != ItemStatus.dropped
    )
    for (planned_goal_id,) in session.execute(select(goal_id).where(has_planned_work)):
        figures[planned_goal_id].planned = True
    overdue = col(ActionItem.due_date) < today
    stale = stale_condition(
        today,
        col(ActionItem.last_activity_at) < quiet_before,
        col(Person.weekly_strategic_hours),
    )
    open_figures = (
        select(
            col(ActionItem.goal_id),
            col(ActionItem.owner_id),
            func.coalesce(func.sum(col(ActionItem.estimate_hours)), 0.0),
            func.coalesce(
                func.sum(case((overdue, col(ActionItem.estimate_hours)), else_=0.0)), 0.0
            ),
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((col(ActionItem.status) == ItemStatus.blocked, 1), else_=0)),
            func.sum(case((stale, 1), else_=0)),
        )
        .join(Person, col(Person.id) == col(ActionItem.owner_id))
        .where(
            col(ActionItem.goal_id).in_(goal_ids), col(ActionItem.status).in_(list(OPEN_STATUSES))
        )
        .group_by(col(ActionItem.goal_id), col(ActionItem.owner_id))
    )
    for (
        goal_id,
        owner_id,
        remaining,
        overdue_hours,
        overdue_count,
        blocked,
        stale,
    ) in session.execute(open_figures):
        entry = figures[goal_id]
        entry.remaining += float(remaining)
        entry.overdue_hours += float(overdue_hours)
        entry.overdue += int(overdue_count or 0)
        entry.blocked += int(blocked or 0)
        entry.stale += int(stale or 0)
        if float(remaining) > 0:
            entry.remaining_by_owner[owner_id] = float(remaining)
    return figures


def hours_left_by_deadline(
    load: PersonLoad, today: date, deadlines: Iterable[date]
) -> dict[date, float | None]:
    """``hours_left`` for several deadlines in one walk over the person's weeks.

    Walk the Mondays with plain date arithmetic (an IsoWeek per week costs an isocalendar call);
    the week object is only built for focus-block capacity, which depends on the week. Each
    deadline's sum runs week by week in the same order as a walk of its own (the full weeks
    before its week, then its week up to it), so every rounded figure is the same.
    """
    declared_hours = load.person.weekly_strategic_hours
    capacities: dict[date, float | None] = {}

    def capacity_of(monday: date) -> float | None:
        if declared_hours is not None:
            return float(declared_hours)
        if monday not in capacities:
            capacities[monday] = weekly_capacity(load.person, load.blocks, IsoWeek.of(monday))
        return capacities[monday]

    result: dict[date, float | None] = {}
    total, declared = 0.0, False  # over the full weeks walked so far
    monday = today - timedelta(days=today.weekday())
    for deadline in sorted(set(deadlines)):
        if deadline < today:
            result[deadline] = 0.0
            continue
        while monday + timedelta(days=6) < deadline:
            capacity = capacity_of(monday)
            if capacity is not None:
                declared = True
                total += (
                    capacity * working_days(max(today, monday), monday + timedelta(days=6)) / 5.0
                )
            monday += timedelta(days=7)
        capacity = capacity_of(monday)
        if capacity is None:
            result[deadline] = round(total, 2) if declared else None
        else:
            days = working_days(max(today, monday), deadline)
            result[deadline] = round(total + capacity * days / 5.0, 2)
    return result


def _latest_check_ins(
    session: Session, workspace_id: uuid.UUID, goal_ids: GoalIds, today: date
) -> dict[uuid.UUID, CheckIn]:
    # Up to next week's (the latest a check-in may be for): an older row for a far week, from
    # before that rule, does not stand in for this week's confidence.
    latest_week = str(IsoWeek.of(today).shifted(1))
    query = (
        select(CheckIn)
        .where(
            col(CheckIn.workspace_id) == workspace_id,
            col(CheckIn.goal_id).in_(goal_ids),
            col(CheckIn.replaced_at).is_(None),
            col(CheckIn.iso_week) <= latest_week,
        )
        .order_by(col(CheckIn.iso_week).desc(), col(CheckIn.created_at).desc())
    )
    latest: dict[uuid.UUID, CheckIn] = {}
    for check_in in session.scalars(query):
        latest.setdefault(check_in.goal_id, check_in)
    return latest


def judge(
    figures: _Figures, deadline: date, today: date, available: float | None, forecast: date | None
) -> tuple[Health, list[Reason]]:
    """Apply the rules of the module docstring."""
    reasons: list[Reason] = []

    def reason(code: str, severity: Health, message: str) -> None:
        reasons.append(Reason(code=code, severity=severity, message=message))

    if not figures.planned:
        reason("no_items", Health.at_risk, "The goal has no action items (or all were dropped).")
        return Health.at_risk, reasons
    if figures.remaining <= 1e-9:
        return Health.done, reasons
    remaining = round(figures.remaining, 2)
    if deadline < today:
        reason(
            "deadline_passed",
            Health.off_track,
            f"The deadline {deadline} has passed with {remaining:g} h open.",
        )
    if available is not None and remaining > available + 1e-9:
        reason(
            "over_capacity",
            Health.off_track,
            f"{remaining:g} h remain but the owners have {available:g} h left before {deadline}.",
        )
    elif available is not None and remaining > TIGHT_CAPACITY_SHARE * available:
        reason(
            "tight_capacity",
            Health.at_risk,
            f"{remaining:g} h remain, over 80 % of the owners' {available:g} h left before "
            f"{deadline}.",
        )
    if figures.overdue_hours >= MOSTLY_OVERDUE_SHARE * figures.remaining:
        reason(
            "mostly_overdue",
            Health.off_track,
            f"Overdue items hold {figures.overdue_hours:g} of the {remaining:g} h open.",
        )
    if figures.overdue:
        count = figures.overdue
        reason(
            "overdue_items", Health.at_risk, f"{count_of(count, 'item')} {is_are(count)} overdue."
        )
    if figures.blocked:
        count = figures.blocked
        reason(
            "blocked_items", Health.at_risk, f"{count_of(count, 'item')} {is_are(count)} blocked."
        )
    if figures.stale:
        count = figures.stale
        reason(
            "stale_items",
            Health.at_risk,
            f"{count_of(count, 'item')} {is_are(count)} stale: in progress without activity, or "
            "not started in time.",
        )
    if forecast is not None and forecast > deadline:
        reason(
            "forecast_after_deadline",
            Health.at_risk,
            f"At the recent pace the work finishes on {forecast}, after {deadline}.",
        )
    if any(entry.severity == Health.off_track for entry in reasons):
        return Health.off_track, reasons
    if reasons:
        return Health.at_risk, reasons
    return Health.on_track, reasons


def _health_for_goals(
    session: Session,
    workspace_id: uuid.UUID,
    goals: list[Goal],
    plans: dict[uuid.UUID, Plan],
    settings: Settings,
    now: datetime,
) -> list[GoalHealth]:
    today = now.date()
    goal_ids = [goal.id for goal in goals]
    figures = _figures(
        session, workspace_id, goal_ids, today, quiet_since(now, settings.stale_after_days)
    )
    velocity = velocities(session, workspace_id, goal_ids, now)
    check_ins = _latest_check_ins(session, workspace_id, goal_ids, today)
    owners = {owner for entry in figures.values() for owner in entry.remaining_by_owner}
    loads = person_loads(session, workspace_id, owners, with_items=False)
    deadlines = {goal.id: goal.target_date or plans[goal.plan_id].end_date for goal in goals}
    owner_deadlines: dict[uuid.UUID, set[date]] = defaultdict(set)
    for goal in goals:
        for owner in (figures.get(goal.id) or _Figures()).remaining_by_owner:
            owner_deadlines[owner].add(deadlines[goal.id])
    left = {
        owner: hours_left_by_deadline(loads[owner], today, owner_deadline)
        for owner, owner_deadline in owner_deadlines.items()
        if owner in loads
    }
    result: list[GoalHealth] = []
    for goal in goals:
        entry = figures.get(goal.id) or _Figures()
        deadline = deadlines[goal.id]
        available: float | None = None
        for owner in entry.remaining_by_owner:
            owner_left = left[owner][deadline] if owner in left else None
            if owner_left is not None:
                available = (available or 0.0) + owner_left
        goal_velocity: Velocity | None = velocity.get(goal.id)
        forecast = forecast_finish(entry.remaining, goal_velocity, today)
        health, reasons = judge(entry, deadline, today, available, forecast)
        check_in = check_ins.get(goal.id)
        confidence = str(check_in.confidence) if check_in else None
        result.append(
            GoalHealth(
                goal_id=goal.id,
                title=goal.title,
                health=health,
                reasons=reasons,
                deadline=deadline,
                remaining_hours=round(entry.remaining, 2),
                available_hours=available,
                overdue_items=entry.overdue,
                blocked_items=entry.blocked,
                stale_items=entry.stale,
                velocity_hours_per_week=goal_velocity.hours_per_week if goal_velocity else 0.0,
                forecast_finish=forecast,
                confidence=confidence,
                confidence_week=check_in.iso_week if check_in else None,
                disagreement=confidence is not None
                and health != Health.done
                and confidence != health,
            )
        )
    return result


def goal_health(
    session: Session,
    workspace_id: uuid.UUID,
    goal_id: uuid.UUID,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> GoalHealth:
    goal = get_goal(session, workspace_id, goal_id)
    plan = get_plan(session, workspace_id, goal.plan_id)
    return _health_for_goals(
        session, workspace_id, [goal], {plan.id: plan}, settings, now or utcnow()
    )[0]


def plan_health(
    session: Session,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> PlanHealth:
    plan = get_plan(session, workspace_id, plan_id)
    goals = plan_goals(session, workspace_id, plan.id)
    return PlanHealth(
        plan_id=plan.id,
        goals=_health_for_goals(
            session, workspace_id, goals, {plan.id: plan}, settings, now or utcnow()
        ),
    )


def goals_health(
    session: Session,
    workspace_id: uuid.UUID,
    goals: list[Goal],
    settings: Settings,
    *,
    now: datetime,
) -> list[GoalHealth]:
    """The health of several goals of the workspace, from any plans (each plan read once)."""
    if not goals:
        return []
    plans = {
        plan.id: plan
        for plan in session.scalars(
            select(Plan).where(col(Plan.id).in_({goal.plan_id for goal in goals}))
        )
    }
    return _health_for_goals(session, workspace_id, goals, plans, settings, now)
