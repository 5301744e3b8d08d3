"""Sending decided nudges at an allowed time: quiet hours, weekends and the weekly cap hold a nudge
(until the next allowed time, never dropping it); an opt-out or no channel ends it.

A held nudge whose reason is gone when it comes due is resolved without a message: the owner
finished or moved the item in the meantime. Settings are the workspace's (``nudge_weekly_cap``,
``quiet_hours_start``, ``quiet_hours_end``), times are the recipient's (their time zone, else the
workspace's). The cap counts the nudges queued for the person since Monday 00:00 of their week.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import ActionItem, Goal, Nudge, NudgeState, Person, Plan, Workspace
from app.schemas.weeks import IsoWeek
from app.services.messages.channels import channels_of
from app.services.messages.outbox import queue_message
from app.services.nudge_messages import NudgeSubject, nudge_message
from app.services.nudge_timing import next_allowed_time, week_start
from app.services.nudges import slipping_items
from app.settings import Settings

RELEASE_BATCH = 200


def _queued_this_week(session: Session, person_id: uuid.UUID, since: datetime) -> int:
    return session.exec(
        select(func.count())
        .select_from(Nudge)
        .where(
            col(Nudge.person_id) == person_id,
            col(Nudge.state) == NudgeState.queued,
            col(Nudge.decided_at) >= since,
        )
    ).one()


def _hold_until(
    session: Session, nudge: Nudge, workspace: Workspace, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """When the nudge may go if not now (quiet hours, weekend, cap reached); None: now."""
    start, end = workspace.quiet_hours_start, workspace.quiet_hours_end
    allowed = next_allowed_time(now, zone, start, end)
    if allowed > now:
        return allowed
    monday = week_start(now, zone)
    if _queued_this_week(session, nudge.person_id, monday) >= workspace.nudge_weekly_cap:
        return next_allowed_time(monday + timedelta(days=7), zone, start, end)
    return None


def _subject(session: Session, nudge: Nudge) -> NudgeSubject:
    item = session.get(ActionItem, nudge.item_id)
    assert item is not None  # the nudge cascades with its item
    goal = session.get(Goal, item.goal_id)
    plan = session.get(Plan, goal.plan_id) if goal is not None else None
    owner = session.get(Person, item.owner_id)
    assert goal is not None and plan is not None and owner is not None
    return NudgeSubject(item=item, goal_title=goal.title, plan_name=plan.name, owner=owner)


def _release(
    session: Session, nudge: Nudge, settings: Settings, now: datetime, still_true: bool
) -> None:
    person = session.get(Person, nudge.person_id)
    workspace = session.get(Workspace, nudge.workspace_id)
    assert person is not None and workspace is not None
    if not still_true:
        nudge.state, nudge.decided_at = NudgeState.resolved, now
        return
    zone = ZoneInfo(person.time_zone or workspace.default_time_zone)
    hold = _hold_until(session, nudge, workspace, zone, now)
    if hold is not None:
        nudge.hold_until = hold
        return
    nudge.decided_at = now
    if channels_of(session, person).nudges_opted_out:
        nudge.state = NudgeState.opted_out
        return
    week = str(IsoWeek.of(now.astimezone(zone).date()))
    message = nudge_message(nudge, _subject(session, nudge), person, week)
    queued = queue_message(session, person, message, settings, now)
    nudge.state = NudgeState.queued if queued else NudgeState.unreachable


def release_due_nudges(session: Session, settings: Settings, now: datetime) -> int:
    """Queue, hold again or close every held nudge that is due; the number looked at."""
    due = session.exec(
        select(Nudge)
        .where(col(Nudge.state) == NudgeState.held, col(Nudge.hold_until) <= now)
        .order_by(col(Nudge.created_at), col(Nudge.id))
        .limit(RELEASE_BATCH)
    ).all()
    if not due:
        return 0
    slipping = slipping_items(session, settings, now, item_ids=list({n.item_id for n in due}))
    for nudge in due:
        slip = slipping.get(nudge.item_id)
        _release(session, nudge, settings, now, slip is not None and nudge.reason in slip.reasons)
        session.add(nudge)
        session.flush()  # the cap of the next nudge to the same person counts this one
    return len(due)
