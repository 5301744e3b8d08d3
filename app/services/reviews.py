"""The weekly review of a plan, rebuilt from the ItemEvent history so a past week reads the same
later.

The review of ISO week W looks at two instants: S, Monday 00:00 UTC of W, and T, the next Monday
00:00 UTC (or now, while W is still running). The state of each item of the plan at S and at T is
its
latest event snapshot at or before that instant (items without one did not exist yet); the due date
at T is replayed from ``due_date`` planning events. Per goal:

- progress change: percent by estimate at T minus at S;
- done: done at T, not done at S; started: a snapshot ``in_progress`` in (S, T] of an item that was
  todo (or not there) at S; newly blocked: blocked at T, not blocked at S;
- overdue: open at T with a due date before T's date; stale: open at T, no event in the
  ``stale_after_days`` before T; due next week: open at T, due in week W+1.

Check-ins count as of T too (the latest per owner and goal created before T); missing check-ins are
the goals whose owner has none. Every "needs help" check-in is listed first. People over capacity
are
the owners whose open items, as they stood at T, plan more hours in W than their capacity.
Items deleted since are left out (their events no longer name them).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from app.db import utcnow
from app.models import ActionItem, Goal, ItemEvent, ItemStatus, Person
from app.models.execution import CheckIn, FocusBlock
from app.schemas.weeks import IsoWeek
from app.services.capacity import PersonLoad, spread_estimate
from app.services.item_rules import OPEN_STATUSES
from app.services.progress import (
    Hours,
    ItemState,
    change,
    get_plan,
    percent,
    plan_goals,
    states_at,
)
from app.settings import Settings


class ReviewItem(BaseModel):
    item_id: uuid.UUID
    title: str
    owner_id: uuid.UUID
    owner: str
    status: ItemStatus
    due_date: date
    estimate_hours: float


class GoalReview(BaseModel):
    goal_id: uuid.UUID
    title: str
    owner: str
    percent_start: float | None
    percent_end: float | None
    change: float | None
    done: list[ReviewItem]
    started: list[ReviewItem]
    newly_blocked: list[ReviewItem]
    overdue: list[ReviewItem]
    stale: list[ReviewItem]
    due_next_week: list[ReviewItem]


class ReviewCheckIn(BaseModel):
    owner_id: uuid.UUID
    owner: str
    goal_id: uuid.UUID
    goal: str
    confidence: str
    note: str
    blockers: str
    needs_help: bool


class MissingCheckIn(BaseModel):
    owner_id: uuid.UUID
    owner: str
    goal_id: uuid.UUID
    goal: str


class Overload(BaseModel):
    person_id: uuid.UUID
    name: str
    planned_hours: float
    capacity_hours: float
    over_by: float


class WeeklyReview(BaseModel):
    plan_id: uuid.UUID
    plan: str
    iso_week: str
    week_start: date
    week_end: date
    complete: bool  # false while the week is still running
    needs_help: list[ReviewCheckIn]
    goals: list[GoalReview]
    over_capacity: list[Overload]
    check_ins: list[ReviewCheckIn]
    missing_check_ins: list[MissingCheckIn]


def _due_dates_at(
    session: Session,
    item_ids: Select[Any],
    current: dict[uuid.UUID, date],
    cut: datetime,
) -> dict[uuid.UUID, date]:
    """Replay ``due_date`` changes: the last value set by ``cut``, else the old value of the next
    change."""
    rows = session.execute(
        select(
            col(ItemEvent.item_id),
            col(ItemEvent.at),
            col(ItemEvent.from_value),
            col(ItemEvent.to_value),
        )
        .where(col(ItemEvent.item_id).in_(item_ids), col(ItemEvent.field) == "due_date")
        .order_by(col(ItemEvent.at))
    ).all()
    set_by_cut: dict[uuid.UUID, str | None] = {}
    old_after_cut: dict[uuid.UUID, str | None] = {}
    for item_id, event_at, old, new in rows:
        if event_at <= cut:
            set_by_cut[item_id] = new
        else:
            old_after_cut.setdefault(item_id, old)
    due = dict(current)
    for replay in (old_after_cut, set_by_cut):
        for item_id, value in replay.items():
            if value and item_id in due:
                due[item_id] = date.fromisoformat(value[:10])
    return due


def _last_activity(
    session: Session, item_ids: Select[Any], cut: datetime
) -> dict[uuid.UUID, datetime]:
    rows = session.execute(
        select(col(ItemEvent.item_id), func.max(ItemEvent.at))
        .where(col(ItemEvent.item_id).in_(item_ids), col(ItemEvent.at) <= cut)
        .group_by(col(ItemEvent.item_id))
    ).all()
    return {item_id: as_utc(event_at) for item_id, event_at in rows}


def as_utc(value: datetime) -> datetime:
    # SQLite hands aggregates back without the column's type processing (naive); they are UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def weekly_review(
    session: Session,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    week: IsoWeek,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> WeeklyReview:
    now = now or utcnow()
    plan = get_plan(session, workspace_id, plan_id)
    goals = plan_goals(session, workspace_id, plan.id)
    start, end = week.start_utc, week.end_utc
    cut = min(now, end)
    plan_items = select(col(ActionItem.id)).where(
        col(ActionItem.workspace_id) == workspace_id,
        col(ActionItem.goal_id).in_([goal.id for goal in goals]),
    )
    # Most items of a running plan were done or dropped before the week and not touched since:
    # they read the same at both instants, are never listed, and only add their hours (done ones)
    # to both figures, summed per goal in the database. Only the other items are replayed.
    pivot = min(start, cut)
    touched = _touched_since(workspace_id, pivot)
    item_ids_query = plan_items.where(
        col(ActionItem.status).not_in([ItemStatus.done, ItemStatus.dropped])
        | (col(ActionItem.created_at) > pivot)
        | col(ActionItem.id).in_(touched)
    )
    quiet_hours = _quiet_done_hours(session, [goal.id for goal in goals], touched, pivot)
    at_start = states_at(session, workspace_id, item_ids_query, start) if start < cut else {}
    at_end = states_at(session, workspace_id, item_ids_query, cut)
    rows = session.execute(
        select(
            col(ActionItem.id),
            col(ActionItem.title),
            col(ActionItem.owner_id),
            col(ActionItem.due_date),
        ).where(col(ActionItem.id).in_(item_ids_query))
    ).all()
    titles = {row[0]: row[1] for row in rows}
    owners = {row[0]: row[2] for row in rows}
    all_owners = set(
        session.scalars(
            select(col(ActionItem.owner_id)).where(col(ActionItem.id).in_(plan_items)).distinct()
        )
    )
    people = _people(session, workspace_id, all_owners | {goal.owner_id for goal in goals})
    due = _due_dates_at(session, item_ids_query, {row[0]: row[3] for row in rows}, cut)
    activity = _last_activity(session, item_ids_query, cut)
    started_ids = set(
        session.scalars(
            select(col(ItemEvent.item_id)).where(
                col(ItemEvent.item_id).in_(item_ids_query),
                col(ItemEvent.at) > start,
                col(ItemEvent.at) <= cut,
                col(ItemEvent.status) == ItemStatus.in_progress,
            )
        )
    )
    stale_before = cut - timedelta(days=settings.stale_after_days)
    next_week = week.shifted(1)

    def entry(state: ItemState) -> ReviewItem:
        owner_id = owners[state.item_id]
        return ReviewItem(
            item_id=state.item_id,
            title=titles[state.item_id],
            owner_id=owner_id,
            owner=people[owner_id].name if owner_id in people else "",
            status=state.status,
            due_date=due[state.item_id],
            estimate_hours=state.estimate_hours,
        )

    by_goal: dict[uuid.UUID, list[ItemState]] = defaultdict(list)
    for state in at_end.values():
        if state.goal_id is not None:
            by_goal[state.goal_id].append(state)
    start_hours: dict[uuid.UUID, Hours] = defaultdict(Hours)
    if start < cut:
        for goal_id, hours in quiet_hours.items():
            start_hours[goal_id].add(ItemStatus.done, hours)
    for state in at_start.values():
        if state.goal_id is not None:
            start_hours[state.goal_id].add(state.status, state.estimate_hours)

    goal_reviews: list[GoalReview] = []
    for goal in goals:
        states = sorted(
            by_goal.get(goal.id, []),
            key=lambda s: (due[s.item_id], titles[s.item_id], str(s.item_id)),
        )
        end_hours = Hours()
        if goal.id in quiet_hours:
            end_hours.add(ItemStatus.done, quiet_hours[goal.id])
        for state in states:
            end_hours.add(state.status, state.estimate_hours)
        before = start_hours.get(goal.id, Hours())
        percent_start, percent_end = (
            percent(before.done, before.total),
            percent(end_hours.done, end_hours.total),
        )

        def was(state: ItemState) -> ItemStatus | None:
            previous = at_start.get(state.item_id)
            return previous.status if previous else None

        open_states = [s for s in states if s.status in OPEN_STATUSES]
        goal_reviews.append(
            GoalReview(
                goal_id=goal.id,
                title=goal.title,
                owner=people[goal.owner_id].name if goal.owner_id in people else "",
                percent_start=percent_start,
                percent_end=percent_end,
                change=change(percent_end, percent_start),
                done=[
                    entry(s)
                    for s in states
                    if s.status == ItemStatus.done and was(s) != ItemStatus.done
                ],
                started=[
                    entry(s)
                    for s in states
                    if s.item_id in started_ids and was(s) in (None, ItemStatus.todo)
                ],
                newly_blocked=[
                    entry(s)
                    for s in states
                    if s.status == ItemStatus.blocked and was(s) != ItemStatus.blocked
                ],
                overdue=[entry(s) for s in open_states if due[s.item_id] < cut.date()],
                stale=[
                    entry(s) for s in open_states if activity.get(s.item_id, cut) < stale_before
                ],
                due_next_week=[
                    entry(s)
                    for s in open_states
                    if next_week.monday <= due[s.item_id] <= next_week.sunday
                ],
            )
        )

    check_ins, missing = _check_ins(session, workspace_id, goals, people, week, cut)
    return WeeklyReview(
        plan_id=plan.id,
        plan=plan.name,
        iso_week=str(week),
        week_start=week.monday,
        week_end=week.sunday,
        complete=now >= end,
        needs_help=[check_in for check_in in check_ins if check_in.needs_help],
        goals=goal_reviews,
        over_capacity=_over_capacity(session, workspace_id, all_owners, week, cut, now),
        check_ins=check_ins,
        missing_check_ins=missing,
    )


def _touched_since(workspace_id: uuid.UUID, since: datetime) -> Select[Any]:
    return select(col(ItemEvent.item_id)).where(
        col(ItemEvent.workspace_id) == workspace_id,
        col(ItemEvent.at) > since,
        col(ItemEvent.item_id).is_not(None),
    )


def _quiet_done_hours(
    session: Session, goal_ids: list[uuid.UUID], touched: Select[Any], since: datetime
) -> dict[uuid.UUID, float]:
    """Per goal, the hours of its items done by ``since`` with no event after it (they read as
    their current row at every instant from ``since`` on).

    Summed as all items done by ``since`` (from the covering index ix_action_item_goal_rollup,
    no table row) minus those touched since (a primary-key probe each). The goal ids are the
    workspace's already, so the items need no workspace condition.
    """
    done_by = (
        col(ActionItem.goal_id).in_(goal_ids),
        col(ActionItem.status) == ItemStatus.done,
        col(ActionItem.created_at) <= since,
    )
    hours: dict[uuid.UUID, float] = {}
    everything = (
        select(col(ActionItem.goal_id), func.sum(ActionItem.estimate_hours))
        .where(*done_by)
        .group_by(col(ActionItem.goal_id))
    )
    for goal_id, total in session.execute(everything):
        hours[goal_id] = float(total or 0.0)
    replayed = (
        select(col(ActionItem.goal_id), func.sum(ActionItem.estimate_hours))
        .where(col(ActionItem.id).in_(touched), *done_by)
        .group_by(col(ActionItem.goal_id))
    )
    for goal_id, total in session.execute(replayed):
        hours[goal_id] = hours.get(goal_id, 0.0) - float(total or 0.0)
    return hours


def _check_ins(
    session: Session,
    workspace_id: uuid.UUID,
    goals: list[Goal],
    people: dict[uuid.UUID, Person],
    week: IsoWeek,
    cut: datetime,
) -> tuple[list[ReviewCheckIn], list[MissingCheckIn]]:
    rows = session.scalars(
        select(CheckIn)
        .where(
            col(CheckIn.workspace_id) == workspace_id,
            col(CheckIn.goal_id).in_([goal.id for goal in goals]),
            col(CheckIn.iso_week) == str(week),
            col(CheckIn.created_at) < cut,
        )
        .order_by(col(CheckIn.created_at).desc())
    )
    latest: dict[tuple[uuid.UUID, uuid.UUID], CheckIn] = {}
    for check_in in rows:
        latest.setdefault((check_in.owner_id, check_in.goal_id), check_in)
    titles = {goal.id: goal.title for goal in goals}
    received = [
        ReviewCheckIn(
            owner_id=check_in.owner_id,
            owner=people[check_in.owner_id].name if check_in.owner_id in people else "",
            goal_id=check_in.goal_id,
            goal=titles[check_in.goal_id],
            confidence=str(check_in.confidence),
            note=check_in.note,
            blockers=check_in.blockers,
            needs_help=check_in.needs_help,
        )
        for check_in in sorted(
            latest.values(), key=lambda c: (not c.needs_help, titles[c.goal_id], str(c.id))
        )
    ]
    missing = [
        MissingCheckIn(
            owner_id=goal.owner_id,
            owner=people[goal.owner_id].name if goal.owner_id in people else "",
            goal_id=goal.id,
            goal=goal.title,
        )
        for goal in goals
        if (goal.owner_id, goal.id) not in latest
    ]
    return received, missing


def _over_capacity(
    session: Session,
    workspace_id: uuid.UUID,
    person_ids: set[uuid.UUID],
    week: IsoWeek,
    cut: datetime,
    now: datetime,
) -> list[Overload]:
    """Owners whose open items, as they stood at ``cut``, plan more than their capacity in
    ``week``."""
    loads = {
        person_id: PersonLoad(person)
        for person_id, person in _people(session, workspace_id, person_ids).items()
    }
    for block in session.scalars(
        select(FocusBlock).where(
            col(FocusBlock.workspace_id) == workspace_id, col(FocusBlock.person_id).in_(list(loads))
        )
    ):
        loads[block.person_id].blocks.append(block)
    # Only items open now or touched since the cut can have been open at the cut: an item done or
    # dropped with no event after the cut was so at the cut too.
    touched = _touched_since(workspace_id, cut)
    owned = select(col(ActionItem.id)).where(
        col(ActionItem.workspace_id) == workspace_id,
        col(ActionItem.owner_id).in_(list(loads)),
        col(ActionItem.status).in_(list(OPEN_STATUSES))
        | (col(ActionItem.created_at) > cut)
        | col(ActionItem.id).in_(touched),
    )
    states = states_at(session, workspace_id, owned, cut)
    rows = session.execute(
        select(
            col(ActionItem.id),
            col(ActionItem.owner_id),
            col(ActionItem.start_date),
            col(ActionItem.created_at),
            col(ActionItem.due_date),
        ).where(col(ActionItem.id).in_(owned))
    ).all()
    due = _due_dates_at(session, owned, {row[0]: row[4] for row in rows}, cut)
    for item_id, owner_id, start_date, created_at, _due in rows:
        state = states.get(item_id)
        if state is None or state.status not in OPEN_STATUSES:
            continue
        start = start_date or created_at.astimezone(UTC).date()
        hours = spread_estimate(start, due[item_id], state.estimate_hours).get(week, 0.0)
        loads[owner_id].planned[week] += hours
    result: list[Overload] = []
    for load in loads.values():
        entry = load.load(week)
        if entry.over_by > 0 and entry.capacity_hours is not None:
            result.append(
                Overload(
                    person_id=load.person.id,
                    name=load.person.name,
                    planned_hours=entry.planned_hours,
                    capacity_hours=entry.capacity_hours,
                    over_by=entry.over_by,
                )
            )
    return sorted(result, key=lambda overload: (-overload.over_by, overload.name))


def _people(
    session: Session, workspace_id: uuid.UUID, person_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Person]:
    query = select(Person).where(
        col(Person.workspace_id) == workspace_id, col(Person.id).in_(list(person_ids))
    )
    return {person.id: person for person in session.scalars(query)}


def enqueue_ready_reviews(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> int:
    """Enqueue ``review.ready`` once per running plan for the week that just ended (idempotent).

    Meant for the worker's loop; the event id is derived from plan and week, so a second call for
    the same week finds the deliveries already there and adds none.
    """
    from app.models import Plan
    from app.models.execution import NotificationDelivery, Subscription
    from app.services.notifications import enqueue_event

    now = now or utcnow()
    week = IsoWeek.of(now.date()).shifted(-1)
    workspaces = set(
        session.scalars(
            select(col(Subscription.workspace_id)).where(col(Subscription.active).is_(True))
        )
    )
    count = 0
    for plan in session.scalars(
        select(Plan).where(
            col(Plan.workspace_id).in_(workspaces),
            col(Plan.start_date) <= week.sunday,
            col(Plan.end_date) >= week.monday,
        )
    ).all():
        event_id = uuid.uuid5(plan.id, str(week))
        already = session.scalars(
            select(col(NotificationDelivery.id)).where(
                col(NotificationDelivery.event_id) == event_id
            )
        ).first()
        if already is not None:
            continue
        review = weekly_review(session, plan.workspace_id, plan.id, week, settings, now=now)
        done = sum(len(goal.done) for goal in review.goals)
        text = (
            f"Weekly review {week} of {plan.name}: {done} item(s) done, "
            f"{len(review.needs_help)} need help, "
            f"{len(review.missing_check_ins)} check-in(s) missing."
        )
        payload = {
            "plan_id": str(plan.id),
            "iso_week": str(week),
            "path": f"/api/v1/plans/{plan.id}/reviews/{week}",
        }
        count += len(
            enqueue_event(
                session,
                plan.workspace_id,
                "review.ready",
                payload,
                text=text,
                event_id=event_id,
                now=now,
            )
        )
    return count
