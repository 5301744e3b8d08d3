"""Protected focus time: focus blocks, per-person feed tokens and the iCalendar feed (RFC 5545).

The feed holds one weekly recurring "Strategic work" event per focus block (RRULE, DTSTART with the
block's TZID, VTIMEZONE included, so calendar apps keep the wall-clock time across daylight-saving
changes) and one all-day event per open item on its due date, with the tracker link when there is
one.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import NotFound
from app.models import ActionItem, ExternalLink, Goal, Person
from app.models.execution import CalendarFeedToken, FocusBlock
from app.models.sync import LIVE_LINK
from app.schemas.execution import FocusBlockCreate
from app.services.item_rules import OPEN_STATUSES
from app.services.tenancy import get_in_workspace

FEED_TOKEN_PREFIX = "pbcal_"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def list_focus_blocks(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID
) -> list[FocusBlock]:
    person = get_in_workspace(session, Person, person_id, workspace_id)
    query = (
        select(FocusBlock)
        .where(col(FocusBlock.workspace_id) == workspace_id, col(FocusBlock.person_id) == person.id)
        .order_by(col(FocusBlock.weekday), col(FocusBlock.start_time), col(FocusBlock.id))
    )
    return list(session.exec(query))


def create_focus_block(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID, data: FocusBlockCreate
) -> FocusBlock:
    person = get_in_workspace(session, Person, person_id, workspace_id)
    block = FocusBlock(
        workspace_id=workspace_id,
        person_id=person.id,
        weekday=data.weekday,
        start_time=data.start,
        end_time=data.end,
        timezone=data.timezone,
    )
    session.add(block)
    session.flush()
    return block


def get_focus_block(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID, block_id: uuid.UUID
) -> FocusBlock:
    block = get_in_workspace(session, FocusBlock, block_id, workspace_id)
    if block.person_id != person_id:
        raise NotFound(f"No focus block with id {block_id} for this person.")
    return block


def replace_focus_block(
    session: Session,
    workspace_id: uuid.UUID,
    person_id: uuid.UUID,
    block_id: uuid.UUID,
    data: FocusBlockCreate,
) -> FocusBlock:
    block = get_focus_block(session, workspace_id, person_id, block_id)
    block.weekday, block.start_time, block.end_time, block.timezone = (
        data.weekday,
        data.start,
        data.end,
        data.timezone,
    )
    session.add(block)
    session.flush()
    return block


def delete_focus_block(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID, block_id: uuid.UUID
) -> None:
    session.delete(get_focus_block(session, workspace_id, person_id, block_id))
    session.flush()


def create_feed_token(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID
) -> tuple[str, CalendarFeedToken]:
    """A new feed token; only its hash is stored, the token itself is returned once."""
    person = get_in_workspace(session, Person, person_id, workspace_id)
    token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = CalendarFeedToken(
        workspace_id=workspace_id, person_id=person.id, token_hash=_hash(token), prefix=token[:12]
    )
    session.add(record)
    session.flush()
    return token, record


def list_feed_tokens(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID
) -> list[CalendarFeedToken]:
    person = get_in_workspace(session, Person, person_id, workspace_id)
    query = (
        select(CalendarFeedToken)
        .where(
            col(CalendarFeedToken.workspace_id) == workspace_id,
            col(CalendarFeedToken.person_id) == person.id,
        )
        .order_by(col(CalendarFeedToken.created_at), col(CalendarFeedToken.id))
    )
    return list(session.exec(query))


def revoke_feed_token(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID, token_id: uuid.UUID
) -> None:
    record = get_in_workspace(session, CalendarFeedToken, token_id, workspace_id)
    if record.person_id != person_id:
        raise NotFound(f"No calendar feed token with id {token_id} for this person.")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)
        session.flush()


def person_for_feed_token(session: Session, person_id: uuid.UUID, token: str) -> Person:
    """The person the token opens, or NotFound: a wrong, revoked or foreign token reveals
    nothing."""
    record = session.exec(
        select(CalendarFeedToken).where(col(CalendarFeedToken.token_hash) == _hash(token))
    ).first()
    if record is None or record.revoked_at is not None or record.person_id != person_id:
        raise NotFound("No calendar feed for this person and token.")
    return get_in_workspace(session, Person, person_id, record.workspace_id)


def _first_occurrence(block: FocusBlock) -> datetime:
    """The block's first date on or after the day it was created, at its wall-clock start."""
    zone = ZoneInfo(block.timezone)
    created: date = block.created_at.astimezone(zone).date()
    day = created + timedelta(days=(block.weekday - created.weekday()) % 7)
    return datetime.combine(day, block.start_time, tzinfo=zone)


def render_feed(session: Session, person: Person) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//planbridge//focus time//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Strategic work: {person.name}")
    stamp = utcnow()
    blocks = session.exec(
        select(FocusBlock)
        .where(col(FocusBlock.person_id) == person.id)
        .order_by(col(FocusBlock.weekday), col(FocusBlock.start_time))
    )
    for block in blocks:
        start = _first_occurrence(block)
        event = Event()
        event.add("uid", f"focus-{block.id}@planbridge")
        event.add("dtstamp", stamp)
        event.add("summary", "Strategic work")
        event.add("dtstart", start)
        event.add("dtend", datetime.combine(start.date(), block.end_time, tzinfo=start.tzinfo))
        event.add("rrule", {"FREQ": "WEEKLY", "BYDAY": WEEKDAYS[block.weekday]})
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    links = (
        select(ExternalLink.url)
        .where(
            col(ExternalLink.item_id) == col(ActionItem.id),
            col(ExternalLink.url).is_not(None),
            LIVE_LINK,  # not the object of a route it moved away from
        )
        .limit(1)
        .scalar_subquery()
    )
    rows = session.exec(
        select(ActionItem, Goal.title, links)
        .join(Goal, col(Goal.id) == col(ActionItem.goal_id))
        .where(
            col(ActionItem.owner_id) == person.id, col(ActionItem.status).in_(list(OPEN_STATUSES))
        )
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
    )
    for item, goal_title, url in rows:
        event = Event()
        event.add("uid", f"item-{item.id}@planbridge")
        event.add("dtstamp", stamp)
        event.add("summary", f"Due: {item.title}")
        event.add("dtstart", item.due_date)
        event.add("dtend", item.due_date + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        description = f"Goal: {goal_title}\nEstimate: {item.estimate_hours:g} h"
        if url:
            event.add("url", url)
            description += f"\n{url}"
        event.add("description", description)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data
