"""Nudges before work slips: who is told about which item, and when the next one is told.

An item's owner is told when their open item in a running plan

- becomes **overdue** (its due date is before the owner's own today),
- has been **blocked for more than 2 working days** (since its latest change to blocked), or
- is **stale** (the one rule of ``app/services/staleness.py``, at the owner's today),

once per item and reason: the ``nudge`` row's unique key (item, reason, audience) holds that
with several workers and across restarts. If the reason still holds and the item has had no
activity 3 working days after its owner was told, the goal's owner is told; 3 working days after
that, the plan's owner (a plan without an owner ends the chain; a stage whose person was already
told is recorded as skipped and the chain goes on from it). When and whether a decided nudge is
sent (quiet hours, weekends, the weekly cap, opt-out) is ``app/services/nudge_release.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_
from sqlalchemy import select as select_rows
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.models import (
    ActionItem,
    EventKind,
    Goal,
    ItemEvent,
    ItemStatus,
    Nudge,
    NudgeAudience,
    NudgeReason,
    NudgeState,
    Person,
    Plan,
    Workspace,
)
from app.services.item_rules import OPEN_STATUSES
from app.services.nudge_timing import add_working_days
from app.services.staleness import is_stale, quiet_since, stale_condition
from app.settings import Settings

BLOCKED_WORKING_DAYS = 2
ESCALATION_WORKING_DAYS = 3
NEXT_AUDIENCE = {
    NudgeAudience.owner: NudgeAudience.goal_owner,
    NudgeAudience.goal_owner: NudgeAudience.plan_owner,
}


@dataclass(frozen=True)
class SlippingItem:
    """An open item of a running plan with the people of its escalation chain."""

    item: ActionItem
    goal_owner_id: uuid.UUID
    plan_owner_id: uuid.UUID | None
    zone: ZoneInfo  # the item owner's
    reasons: frozenset[NudgeReason]

    def person_for(self, audience: NudgeAudience) -> uuid.UUID | None:
        if audience == NudgeAudience.owner:
            return self.item.owner_id
        if audience == NudgeAudience.goal_owner:
            return self.goal_owner_id
        return self.plan_owner_id


def _blocked_since(session: Session, item_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """The latest change of each item to blocked (its creation, if it was created blocked)."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(col(ItemEvent.item_id), func.max(col(ItemEvent.at)))
        .where(
            col(ItemEvent.item_id).in_(item_ids),
            col(ItemEvent.kind).in_([EventKind.status, EventKind.created]),
            col(ItemEvent.status) == ItemStatus.blocked,
        )
        .group_by(col(ItemEvent.item_id))
    ).all()
    return {item_id: at for item_id, at in rows if item_id is not None}


def _reasons(
    item: ActionItem,
    owner: Person,
    today: date,
    blocked_since: datetime | None,
    zone: ZoneInfo,
    settings: Settings,
    now: datetime,
) -> frozenset[NudgeReason]:
    reasons = set()
    if item.due_date < today:
        reasons.add(NudgeReason.overdue)
    if item.status == ItemStatus.blocked:
        since = blocked_since or item.updated_at
        if now > add_working_days(since, BLOCKED_WORKING_DAYS, zone):
            reasons.add(NudgeReason.blocked)
    if is_stale(
        item.status,
        quiet=item.last_activity_at < quiet_since(now, settings.stale_after_days),
        start_date=item.start_date,
        due_date=item.due_date,
        estimate_hours=item.estimate_hours,
        weekly_hours=owner.weekly_strategic_hours,
        today=today,
    ):
        reasons.add(NudgeReason.stale)
    return frozenset(reasons)


def _not_told_owner(reason: NudgeReason) -> Any:
    return ~exists().where(
        col(Nudge.item_id) == col(ActionItem.id),
        col(Nudge.reason) == reason,
        col(Nudge.audience) == NudgeAudience.owner,
    )


def new_reason_candidates(settings: Settings, now: datetime) -> Any:
    """A SQL condition on an item (joined with its owner) that holds for every item that may have
    a reason its owner was not told of yet, and for few others; ``_reasons`` decides. Without it
    the minute's check read every open item (2 s of CPU for 10,000 on SQLite, bench/RESULTS.md).

    Every owner's today is at most a day after UTC's, so UTC's date plus one bounds overdue and
    stale (a later "today" only makes an item more late)."""
    latest_today = now.date() + timedelta(days=1)
    stale = stale_condition(
        latest_today,
        col(ActionItem.last_activity_at) < quiet_since(now, settings.stale_after_days),
        col(Person.weekly_strategic_hours),
    )
    return or_(
        (col(ActionItem.due_date) < latest_today) & _not_told_owner(NudgeReason.overdue),
        (col(ActionItem.status) == ItemStatus.blocked) & _not_told_owner(NudgeReason.blocked),
        stale & _not_told_owner(NudgeReason.stale),
    )


def slipping_items(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    item_ids: list[uuid.UUID] | None = None,
    condition: Any = None,
) -> dict[uuid.UUID, SlippingItem]:
    """Open items of running plans that have at least one reason, with their reasons now
    (those of ``item_ids``, or those meeting ``condition``)."""
    statement = (
        select_rows(ActionItem, Person, col(Goal.owner_id), col(Plan.owner_id), Workspace)
        .join(Goal, col(Goal.id) == col(ActionItem.goal_id))
        .join(Plan, col(Plan.id) == col(Goal.plan_id))
        .join(Person, col(Person.id) == col(ActionItem.owner_id))
        .join(Workspace, col(Workspace.id) == col(ActionItem.workspace_id))
        .where(
            col(ActionItem.status).in_(list(OPEN_STATUSES)),
            # Running plans, with a day's margin for the time zones ahead of UTC.
            col(Plan.start_date) <= now.date() + timedelta(days=1),
            col(Plan.end_date) >= now.date() - timedelta(days=1),
        )
    )
    if item_ids is not None:
        statement = statement.where(col(ActionItem.id).in_(item_ids))
    if condition is not None:
        statement = statement.where(condition)
    rows = session.execute(statement).all()
    blocked = _blocked_since(
        session, [row[0].id for row in rows if row[0].status == ItemStatus.blocked]
    )
    found = {}
    for item, owner, goal_owner_id, plan_owner_id, workspace in rows:
        zone = ZoneInfo(owner.time_zone or workspace.default_time_zone)
        today = now.astimezone(zone).date()
        reasons = _reasons(item, owner, today, blocked.get(item.id), zone, settings, now)
        if reasons:
            found[item.id] = SlippingItem(item, goal_owner_id, plan_owner_id, zone, reasons)
    return found


def _add_nudge(session: Session, nudge: Nudge) -> bool:
    """Insert unless the same (item, reason, audience) is already there: False then."""
    try:
        with session.begin_nested():
            session.add(nudge)
    except IntegrityError:
        return False
    return True


def _already_told(session: Session, item_id: uuid.UUID, reason: NudgeReason) -> set[uuid.UUID]:
    return set(
        session.exec(
            select(col(Nudge.person_id)).where(
                col(Nudge.item_id) == item_id,
                col(Nudge.reason) == reason,
                col(Nudge.state) != NudgeState.skipped,
            )
        ).all()
    )


def notice_slipping_items(session: Session, settings: Settings, now: datetime) -> int:
    """Decide an owner nudge for each new (item, reason); the number decided."""
    slipping = slipping_items(
        session, settings, now, condition=new_reason_candidates(settings, now)
    )
    if not slipping:
        return 0
    known = set(
        session.exec(
            select(col(Nudge.item_id), col(Nudge.reason)).where(
                col(Nudge.item_id).in_(list(slipping)),
                col(Nudge.audience) == NudgeAudience.owner,
            )
        ).all()
    )
    added = 0
    for item_id, slip in slipping.items():
        for reason in sorted(slip.reasons - {r for i, r in known if i == item_id}):
            nudge = Nudge(
                workspace_id=slip.item.workspace_id,
                item_id=item_id,
                reason=reason,
                audience=NudgeAudience.owner,
                person_id=slip.item.owner_id,
                created_at=now,
                hold_until=now,
            )
            added += _add_nudge(session, nudge)
    return added


def _escalation(
    slip: SlippingItem, told: Nudge, told_people: set[uuid.UUID], now: datetime
) -> Nudge | None:
    audience = NEXT_AUDIENCE[told.audience]
    person_id = slip.person_for(audience)
    if person_id is None:
        return None  # the plan has no owner: the chain ends
    skipped = person_id in told_people
    return Nudge(
        workspace_id=told.workspace_id,
        item_id=told.item_id,
        reason=told.reason,
        audience=audience,
        person_id=person_id,
        state=NudgeState.skipped if skipped else NudgeState.held,
        created_at=now,
        hold_until=now,
        decided_at=now if skipped else None,
    )


def _awaiting_next_stage(session: Session, now: datetime) -> list[Nudge]:
    """Decided owner and goal-owner nudges of open items, 3 days or more old, whose next stage
    is not decided yet (the calendar days bound the working days from below)."""
    waiting: list[Nudge] = []
    for audience, next_audience in NEXT_AUDIENCE.items():
        later = aliased(Nudge)
        waiting += session.exec(
            select(Nudge)
            .join(ActionItem, col(ActionItem.id) == col(Nudge.item_id))
            .where(
                col(Nudge.audience) == audience,
                col(Nudge.state) != NudgeState.held,
                col(Nudge.decided_at) <= now - timedelta(days=ESCALATION_WORKING_DAYS),
                col(ActionItem.status).in_(list(OPEN_STATUSES)),
                ~exists().where(
                    col(later.item_id) == col(Nudge.item_id),
                    col(later.reason) == col(Nudge.reason),
                    col(later.audience) == next_audience,
                ),
            )
        ).all()
    return waiting


def escalate_unchanged_items(session: Session, settings: Settings, now: datetime) -> int:
    """Decide the next stage's nudge where the reason still holds and nothing moved for 3
    working days since the last stage was decided; the number decided (skips included)."""
    waiting = _awaiting_next_stage(session, now)
    if not waiting:
        return 0
    slipping = slipping_items(
        session, settings, now, item_ids=list({nudge.item_id for nudge in waiting})
    )
    added = 0
    for told in waiting:
        slip = slipping.get(told.item_id)
        if slip is None or told.reason not in slip.reasons or told.decided_at is None:
            continue  # resolved: nobody else needs to hear of it
        # Any activity on the item since restarts the wait: the owner is on it.
        quiet_from = max(told.decided_at, slip.item.last_activity_at)
        if now < add_working_days(quiet_from, ESCALATION_WORKING_DAYS, slip.zone):
            continue
        nudge = _escalation(slip, told, _already_told(session, told.item_id, told.reason), now)
        if nudge is not None:
            added += _add_nudge(session, nudge)
    return added
