"""A slow, obviously-right weekly review for tests: every item replayed event by event in Python.

The service reads the same answers from indexes and stored parts (app.services.weekly_review,
through its public API app.services.reviews); tests compare the two on scripted histories.
Check-ins are the service's own (a plain query, not what these tests are about).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session, col, select

from app.models import ActionItem, ItemEvent, ItemStatus, Person
from app.schemas.reviews import GoalReview, Overload, ReviewItem, WeeklyReview
from app.schemas.weeks import IsoWeek
from app.services.capacity import person_loads
from app.services.item_rules import OPEN_STATUSES
from app.services.progress import change, get_plan, percent, plan_goals
from app.services.spread import spread_estimate
from app.services.staleness import is_stale, quiet_since
from app.services.weekly_review.check_ins import week_check_ins
from app.settings import Settings


@dataclass(frozen=True)
class State:
    goal_id: uuid.UUID
    status: ItemStatus
    estimate: float


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class History:
    """All events of the workspace, per item, in time order."""

    def __init__(self, session: Session, workspace_id: uuid.UUID) -> None:
        self.events: dict[uuid.UUID, list[ItemEvent]] = defaultdict(list)
        for item_event in session.exec(
            select(ItemEvent).where(ItemEvent.workspace_id == workspace_id)
        ):
            if item_event.item_id is not None:
                self.events[item_event.item_id].append(item_event)
        for events in self.events.values():
            events.sort(key=lambda e: _utc(e.at))

    def state(self, item_id: uuid.UUID, at: datetime) -> State | None:
        found = None
        for item_event in self.events[item_id]:
            if _utc(item_event.at) <= at and item_event.status is not None:
                assert item_event.goal_id is not None
                found = State(
                    item_event.goal_id,
                    ItemStatus(item_event.status),
                    float(item_event.estimate_hours or 0),
                )
        return found

    def due(self, item: ActionItem, at: datetime) -> date:
        due = item.due_date
        changes = [
            e
            for e in self.events[item.id]
            if e.field == "due_date" and e.kind == "planning" and _utc(e.at) > at
        ]
        if changes and changes[0].from_value:
            due = date.fromisoformat(changes[0].from_value[:10])
        return due

    def last_activity(self, item_id: uuid.UUID, at: datetime) -> datetime | None:
        moments = [_utc(e.at) for e in self.events[item_id] if _utc(e.at) <= at]
        return max(moments) if moments else None

    def went_in_progress(self, item_id: uuid.UUID, after: datetime, until: datetime) -> bool:
        return any(
            after < _utc(e.at) <= until and e.status == ItemStatus.in_progress
            for e in self.events[item_id]
        )


def reference_review(
    session: Session,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    week: IsoWeek,
    settings: Settings,
    *,
    now: datetime,
) -> WeeklyReview:
    plan = get_plan(session, workspace_id, plan_id)
    goals = plan_goals(session, workspace_id, plan.id)
    goal_ids = {goal.id for goal in goals}
    start, cut = week.start_utc, min(now, week.end_utc)
    history = History(session, workspace_id)
    items = {
        item.id: item
        for item in session.exec(select(ActionItem).where(col(ActionItem.goal_id).in_(goal_ids)))
    }
    people = {
        person.id: person
        for person in session.exec(select(Person).where(Person.workspace_id == workspace_id))
    }
    at_end = {i: s for i in items if (s := history.state(i, cut)) is not None}
    at_start = (
        {i: s for i in items if (s := history.state(i, start)) is not None} if start < cut else {}
    )
    quiet_before = quiet_since(cut, settings.stale_after_days)
    next_week = week.shifted(1)

    def entry(item_id: uuid.UUID) -> ReviewItem:
        item, state = items[item_id], at_end[item_id]
        return ReviewItem(
            item_id=item_id,
            title=item.title,
            owner_id=item.owner_id,
            owner=people[item.owner_id].name,
            status=state.status,
            due_date=history.due(item, cut),
            estimate_hours=state.estimate,
        )

    def hours(states: dict[uuid.UUID, State], goal_id: uuid.UUID) -> float | None:
        total = sum(
            s.estimate for s in states.values() if s.goal_id == goal_id and s.status != "dropped"
        )
        done = sum(
            s.estimate for s in states.values() if s.goal_id == goal_id and s.status == "done"
        )
        return percent(done, total)

    reviews = []
    for goal in goals:
        ids = sorted(
            (i for i, s in at_end.items() if s.goal_id == goal.id),
            key=lambda i: (history.due(items[i], cut), items[i].title, str(i)),
        )

        def was(item_id: uuid.UUID) -> ItemStatus | None:
            previous = at_start.get(item_id)
            return previous.status if previous else None

        open_ids = [i for i in ids if at_end[i].status in OPEN_STATUSES]
        last = {i: history.last_activity(i, cut) for i in open_ids}
        before, after = hours(at_start, goal.id), hours(at_end, goal.id)

        def stale(item_id: uuid.UUID, last: dict[uuid.UUID, datetime | None] = last) -> bool:
            item = items[item_id]
            return is_stale(
                at_end[item_id].status,
                quiet=(last[item_id] or cut) < quiet_before,
                start_date=item.start_date,
                due_date=history.due(item, cut),
                estimate_hours=at_end[item_id].estimate,
                weekly_hours=people[item.owner_id].weekly_strategic_hours,
                today=cut.date(),
            )

        # Each item in one list per group, the most telling: done, newly blocked, started; and
        # overdue, stale, due next week.
        done = {i for i in ids if at_end[i].status == "done" and was(i) != "done"}
        newly_blocked = {
            i for i in ids if at_end[i].status == "blocked" and was(i) != "blocked"
        } - done
        started = (
            {i for i in ids if history.went_in_progress(i, start, cut) and was(i) in (None, "todo")}
            - done
            - newly_blocked
        )
        overdue = {i for i in open_ids if history.due(items[i], cut) < cut.date()}
        stale_ids = {i for i in open_ids if stale(i)} - overdue
        due_next_week = (
            {
                i
                for i in open_ids
                if next_week.monday <= history.due(items[i], cut) <= next_week.sunday
            }
            - overdue
            - stale_ids
        )
        reviews.append(
            GoalReview(
                goal_id=goal.id,
                title=goal.title,
                owner=people[goal.owner_id].name,
                percent_start=before,
                percent_end=after,
                change=change(after, before),
                done=[entry(i) for i in ids if i in done],
                started=[entry(i) for i in ids if i in started],
                newly_blocked=[entry(i) for i in ids if i in newly_blocked],
                overdue=[entry(i) for i in ids if i in overdue],
                stale=[entry(i) for i in ids if i in stale_ids],
                due_next_week=[entry(i) for i in ids if i in due_next_week],
            )
        )
    owners = {item.owner_id for item in items.values()}
    check_ins, missing = week_check_ins(session, workspace_id, goals, people, week, now)
    return WeeklyReview(
        plan_id=plan.id,
        plan=plan.name,
        iso_week=str(week),
        week_start=week.monday,
        week_end=week.sunday,
        complete=now >= week.end_utc,
        needs_help=[c for c in check_ins if c.needs_help],
        goals=reviews,
        over_capacity=_reference_overloads(session, workspace_id, owners, history, week, cut),
        check_ins=check_ins,
        missing_check_ins=missing,
    )


def _reference_overloads(
    session: Session,
    workspace_id: uuid.UUID,
    owners: set[uuid.UUID],
    history: History,
    week: IsoWeek,
    cut: datetime,
) -> list[Overload]:
    loads = person_loads(session, workspace_id, owners, with_items=False)
    for item in session.exec(
        select(ActionItem).where(
            ActionItem.workspace_id == workspace_id, col(ActionItem.owner_id).in_(owners)
        )
    ):
        state = history.state(item.id, cut)
        if state is None or state.status not in OPEN_STATUSES:
            continue
        begin = item.start_date or _utc(item.created_at).date()
        spread = spread_estimate(begin, history.due(item, cut), state.estimate)
        loads[item.owner_id].planned[week] += spread.get(week, 0.0)
    result = []
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
