"""Accountability: a person's commitments and a plan's attention list.

Attention order ("most urgent first"): by the most urgent reason of each item, in this order:
overdue, blocked, dead sync, stale, no tracker link; within one reason, the earliest due date first.
Only open items (todo, in progress, blocked) are listed: finished or dropped work needs no
attention. Stale is the rule of ``app.services.staleness``.

Commitments list each open item once more, in the most telling of overdue, stale and due this
week, in that order of precedence: an overdue item due this week is listed as overdue only, a
stale one as stale. ``open`` holds all of them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import exists, or_, select
from sqlmodel import Session, col

from app.db import utcnow
from app.errors import NotFound
from app.models import ActionItem, ExternalLink, Goal, ItemStatus, Person
from app.models.sync import LIVE_LINK
from app.schemas.weeks import IsoWeek
from app.services.capacity import WeekLoad, person_loads
from app.services.item_rules import OPEN_STATUSES
from app.services.progress import get_plan
from app.services.staleness import is_stale, quiet_since, stale_condition
from app.settings import Settings

REASON_ORDER = ("overdue", "blocked", "dead_sync", "stale", "no_tracker_link")
COMMITMENT_WEEKS = 8


class CommitmentItem(BaseModel):
    item_id: uuid.UUID
    goal_id: uuid.UUID
    title: str
    status: ItemStatus
    due_date: date
    estimate_hours: float
    last_activity_at: datetime


class Commitments(BaseModel):
    person_id: uuid.UUID
    name: str
    open: list[CommitmentItem]
    overdue: list[CommitmentItem]
    stale: list[CommitmentItem]
    due_this_week: list[CommitmentItem]
    weeks: list[WeekLoad]


class AttentionItem(CommitmentItem):
    owner_id: uuid.UUID
    reasons: list[str]
    tracker_url: str | None


class Attention(BaseModel):
    plan_id: uuid.UUID
    items: list[AttentionItem]


def commitments(
    session: Session,
    workspace_id: uuid.UUID,
    person_id: uuid.UUID,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> Commitments:
    person = session.get(Person, person_id)
    if person is None or person.workspace_id != workspace_id:
        raise NotFound(f"Person {person_id} not found.")
    return commitments_of_people(session, workspace_id, [person], settings, now=now)[person.id]


def commitments_of_people(
    session: Session,
    workspace_id: uuid.UUID,
    people: list[Person],
    settings: Settings,
    *,
    now: datetime | None = None,
) -> dict[uuid.UUID, Commitments]:
    """Commitments of the given people with two queries in all (items, then loads)."""
    now = now or utcnow()
    person_ids = [person.id for person in people]
    items = session.scalars(
        select(ActionItem)
        .where(
            col(ActionItem.workspace_id) == workspace_id,
            col(ActionItem.owner_id).in_(person_ids),
            col(ActionItem.status).in_(list(OPEN_STATUSES)),
        )
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
    ).all()
    entries: dict[uuid.UUID, list[CommitmentItem]] = {person_id: [] for person_id in person_ids}
    today, this_week = now.date(), IsoWeek.of(now.date())
    quiet_before = quiet_since(now, settings.stale_after_days)
    hours = {person.id: person.weekly_strategic_hours for person in people}
    stale: set[uuid.UUID] = set()
    for item in items:
        entries[item.owner_id].append(
            CommitmentItem(item_id=item.id, **item.model_dump(exclude={"id"}))
        )
        if is_stale(
            item.status,
            quiet=item.last_activity_at < quiet_before,
            start_date=item.start_date,
            due_date=item.due_date,
            estimate_hours=item.estimate_hours,
            weekly_hours=hours[item.owner_id],
            today=today,
        ):
            stale.add(item.id)
    loads = person_loads(
        session,
        workspace_id,
        person_ids,
        weeks=(this_week, this_week.shifted(COMMITMENT_WEEKS - 1)),
    )
    result: dict[uuid.UUID, Commitments] = {}
    for person in people:
        own = entries[person.id]
        overdue = [entry for entry in own if entry.due_date < today]
        stale_ones = [entry for entry in own if entry.item_id in stale and entry.due_date >= today]
        due_this_week = [
            entry
            for entry in own
            if today <= entry.due_date <= this_week.sunday and entry.item_id not in stale
        ]
        result[person.id] = Commitments(
            person_id=person.id,
            name=person.name,
            open=own,
            overdue=overdue,
            stale=stale_ones,
            due_this_week=due_this_week,
            weeks=[
                loads[person.id].load(this_week.shifted(offset))
                for offset in range(COMMITMENT_WEEKS)
            ],
        )
    return result


def attention(
    session: Session,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> Attention:
    now = now or utcnow()
    plan = get_plan(session, workspace_id, plan_id)
    today = now.date()
    linked = exists().where(
        col(ExternalLink.item_id) == col(ActionItem.id), col(ExternalLink.tombstoned_at).is_(None)
    )
    dead = exists().where(
        col(ExternalLink.item_id) == col(ActionItem.id), col(ExternalLink.dead).is_(True)
    )
    link_url = (
        select(col(ExternalLink.url))
        .where(
            col(ExternalLink.item_id) == col(ActionItem.id),
            col(ExternalLink.url).is_not(None),
            LIVE_LINK,  # not the object of a route it moved away from
        )
        .limit(1)
        .scalar_subquery()
    )
    overdue = col(ActionItem.due_date) < today
    blocked = col(ActionItem.status) == ItemStatus.blocked
    stale = stale_condition(
        today,
        col(ActionItem.last_activity_at) < quiet_since(now, settings.stale_after_days),
        col(Person.weekly_strategic_hours),
    )
    rows = session.execute(
        select(ActionItem, overdue, blocked, dead, stale, linked, link_url)
        .join(Person, col(Person.id) == col(ActionItem.owner_id))
        .where(
            col(ActionItem.workspace_id) == workspace_id,
            col(ActionItem.goal_id).in_(select(col(Goal.id)).where(col(Goal.plan_id) == plan.id)),
            col(ActionItem.status).in_(list(OPEN_STATUSES)),
            or_(overdue, blocked, dead, stale, ~linked),
        )
    ).all()
    entries: list[AttentionItem] = []
    for item, is_overdue, is_blocked, is_dead, stale_now, is_linked, url in rows:
        flags = (is_overdue, is_blocked, is_dead, stale_now, not is_linked)
        reasons = [reason for reason, flag in zip(REASON_ORDER, flags, strict=True) if flag]
        entries.append(
            AttentionItem(
                item_id=item.id, reasons=reasons, tracker_url=url, **item.model_dump(exclude={"id"})
            )
        )
    entries.sort(
        key=lambda entry: (
            REASON_ORDER.index(entry.reasons[0]),
            entry.due_date,
            entry.title,
            str(entry.item_id),
        )
    )
    return Attention(plan_id=plan.id, items=entries)
