"""The People page's check-in loop: per person, whether they checked in this week (their own week,
in their time zone), the latest reminder they were sent this week (from the message delivery log)
and whether planbridge can reach them at all.

Unreachable means: a message was refused for good (a bad address, a removed chat webhook), or
there is nothing to send on (no e-mail address, e-mail turned off or not set up on this server,
and no chat webhook). Such people are listed, never silently skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.models import MessageDelivery, Person, PersonChannels
from app.schemas.weeks import IsoWeek
from app.services.messages.compose import CHECKIN_REQUEST
from app.services.owner_week import checked_in_people, owners_of_open_work
from app.services.time_zones import local_today
from app.settings import Settings

# The messages that ask a person to check in: the weekly request (also when sent again from this
# page) and its follow-up.
REMINDER_KINDS = (CHECKIN_REQUEST, "checkin_follow_up")


@dataclass(frozen=True)
class CheckInLoop:
    week: IsoWeek  # the person's own current week
    owns_open_work: bool
    checked_in: bool
    reminded: MessageDelivery | None  # the latest reminder of the week
    unreachable: str | None  # why planbridge cannot reach the person, or None


def _unreachable(person: Person, channels: PersonChannels | None, settings: Settings) -> str | None:
    if channels is not None and channels.unreachable_reason:
        return f"refused: {channels.unreachable_reason}"
    chat = channels is not None and (
        channels.chat_webhook_encrypted is not None or channels.team_id is not None
    )
    email_on = channels is None or channels.email_enabled
    if chat or (email_on and person.email and settings.smtp_url is not None):
        return None
    if not person.email:
        return "no e-mail address and no chat webhook"
    if not email_on:
        return "e-mail turned off and no chat webhook"
    return "e-mail is not set up on this server (PLANBRIDGE_SMTP_URL) and no chat webhook"


def _latest_reminders(
    db: Session, workspace_id: uuid.UUID, weeks: set[str]
) -> dict[tuple[uuid.UUID, str], MessageDelivery]:
    rows = db.exec(
        select(MessageDelivery)
        .where(
            col(MessageDelivery.workspace_id) == workspace_id,
            col(MessageDelivery.kind).in_(REMINDER_KINDS),
            col(MessageDelivery.iso_week).in_(weeks),
        )
        .order_by(col(MessageDelivery.created_at))
    ).all()
    return {(row.person_id, row.iso_week): row for row in rows}


def check_in_loop(
    db: Session, settings: Settings, people: list[Person], now: datetime
) -> dict[uuid.UUID, CheckInLoop]:
    """The check-in loop of each person (of one workspace), in a few queries."""
    if not people:
        return {}
    workspace_id = people[0].workspace_id
    weeks = {person.id: IsoWeek.of(local_today(db, person, now)) for person in people}
    checked_in = checked_in_people(db, workspace_id, sorted(set(weeks.values())))
    owners = {
        person_id
        for week in set(weeks.values())
        for person_id in owners_of_open_work(db, workspace_id, week)
    }
    reminders = _latest_reminders(db, workspace_id, {str(week) for week in weeks.values()})
    channels = {
        row.person_id: row
        for row in db.exec(
            select(PersonChannels).where(col(PersonChannels.workspace_id) == workspace_id)
        ).all()
    }
    return {
        person.id: CheckInLoop(
            week=weeks[person.id],
            owns_open_work=person.id in owners,
            checked_in=(person.id, str(weeks[person.id])) in checked_in,
            reminded=reminders.get((person.id, str(weeks[person.id]))),
            unreachable=_unreachable(person, channels.get(person.id), settings),
        )
        for person in people
    }
