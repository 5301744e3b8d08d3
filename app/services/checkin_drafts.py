"""The draft of a person's weekly check-in, from their real work since the last check-in.

Per goal the person owns or works on in a plan running this week: which of their items they
finished, started or blocked since their last check-in on that goal (the item events, whatever
wrote them: the API or a tracker), which are overdue, and a confidence suggested by the goal's
computed health (pace, capacity, overdue work). The person confirms or changes it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, or_, select

from app.models import ActionItem, CheckIn, Confidence, Goal, ItemEvent, ItemStatus, Person, Plan
from app.schemas.weeks import IsoWeek
from app.services.health import Health, goal_health
from app.services.item_rules import OPEN_STATUSES
from app.services.reviews import FREEZE_AFTER
from app.services.time_zones import local_today
from app.settings import Settings

SUGGESTED = {
    Health.done: Confidence.on_track,
    Health.on_track: Confidence.on_track,
    Health.at_risk: Confidence.at_risk,
    Health.off_track: Confidence.off_track,
}


@dataclass
class GoalDraft:
    goal: Goal
    since: datetime
    suggested: Confidence
    reasons: list[str]
    finished: list[ActionItem] = field(default_factory=list)
    started: list[ActionItem] = field(default_factory=list)
    blocked: list[ActionItem] = field(default_factory=list)
    overdue: list[ActionItem] = field(default_factory=list)
    open_items: list[ActionItem] = field(default_factory=list)
    recorded: CheckIn | None = None

    @property
    def confidence(self) -> Confidence:
        """What the form starts with: the recorded answer, else the suggestion."""
        return self.recorded.confidence if self.recorded is not None else self.suggested


@dataclass
class CheckInDraft:
    person: Person
    week: IsoWeek
    today: date
    goals: list[GoalDraft]


def week_is_frozen(week: IsoWeek, now: datetime) -> bool:
    """The week's review is stored for good: its check-ins can no longer be corrected here."""
    return now >= week.end_utc + FREEZE_AFTER


def _goals_of(session: Session, person: Person, week: IsoWeek) -> list[Goal]:
    running = select(Plan.id).where(
        col(Plan.workspace_id) == person.workspace_id,
        col(Plan.start_date) <= week.sunday,
        col(Plan.end_date) >= week.monday,
    )
    worked_on = select(ActionItem.goal_id).where(
        col(ActionItem.owner_id) == person.id, col(ActionItem.status).in_(OPEN_STATUSES)
    )
    return list(
        session.exec(
            select(Goal)
            .where(
                col(Goal.workspace_id) == person.workspace_id,
                col(Goal.plan_id).in_(running),
                or_(col(Goal.owner_id) == person.id, col(Goal.id).in_(worked_on)),
            )
            .order_by(col(Goal.created_at), col(Goal.id))
        ).all()
    )


def _last_check_in(
    session: Session, person: Person, goal: Goal, week: IsoWeek
) -> tuple[CheckIn | None, datetime | None]:
    """This week's recorded check-in, and when the person last checked in on an earlier week."""
    rows = session.exec(
        select(CheckIn)
        .where(
            col(CheckIn.workspace_id) == person.workspace_id,
            col(CheckIn.owner_id) == person.id,
            col(CheckIn.goal_id) == goal.id,
            col(CheckIn.replaced_at).is_(None),
        )
        .order_by(col(CheckIn.created_at).desc())
        .limit(2)
    ).all()
    recorded = next((row for row in rows if row.iso_week == str(week)), None)
    earlier = next((row.created_at for row in rows if row.iso_week != str(week)), None)
    return recorded, earlier


def _changed_to(
    session: Session, items: dict[uuid.UUID, ActionItem], since: datetime
) -> dict[uuid.UUID, str]:
    """Each item's latest status reached since ``since`` (from the item history)."""
    if not items:
        return {}
    events = session.exec(
        select(ItemEvent)
        .where(
            col(ItemEvent.item_id).in_(list(items)),
            col(ItemEvent.field) == "status",
            col(ItemEvent.at) >= since,
        )
        .order_by(col(ItemEvent.at))
    ).all()
    return {event.item_id: event.to_value or "" for event in events if event.item_id is not None}


def draft_check_in(
    session: Session, person: Person, settings: Settings, now: datetime
) -> CheckInDraft:
    today = local_today(session, person, now)
    week = IsoWeek.of(today)
    drafts = []
    for goal in _goals_of(session, person, week):
        recorded, earlier = _last_check_in(session, person, goal, week)
        since = earlier or week.shifted(-1).start_utc
        health = goal_health(session, person.workspace_id, goal.id, settings, now=now)
        draft = GoalDraft(
            goal=goal,
            since=since,
            suggested=SUGGESTED[health.health],
            reasons=[reason.message for reason in health.reasons],
            recorded=recorded,
        )
        items = {
            item.id: item
            for item in session.exec(
                select(ActionItem)
                .where(col(ActionItem.goal_id) == goal.id, col(ActionItem.owner_id) == person.id)
                .order_by(col(ActionItem.due_date), col(ActionItem.id))
            ).all()
        }
        changed = _changed_to(session, items, since)
        for item in items.values():
            reached = changed.get(item.id)
            if item.status == ItemStatus.done and reached == ItemStatus.done:
                draft.finished.append(item)
            elif item.status == ItemStatus.in_progress and reached == ItemStatus.in_progress:
                draft.started.append(item)
            if item.status == ItemStatus.blocked:
                draft.blocked.append(item)
            if item.status in OPEN_STATUSES:
                draft.open_items.append(item)
                if item.due_date < today:
                    draft.overdue.append(item)
        drafts.append(draft)
    return CheckInDraft(person=person, week=week, today=today, goals=drafts)
