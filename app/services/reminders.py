"""Weekly check-in reminders: who is due one now, and reminding them once.

Each owner of open work in a running plan who has not checked in for their (local) week gets the
weekly reminder when their cadence's day and hour has come in their own time zone (the earliest
of their plans' cadences), and one follow-up the next working morning if they still have not
checked in (app/services/reminder_schedule.py says when). A reminder is a ``reminder`` row,
unique per (person, week, kind), inserted in the same transaction as its messages: whichever
worker inserts it first sends it, and a restart or a second worker finds it there. Catching up
after downtime is the same rule: what is due and still in its week is sent once; a reminder of a
past week never is. ``everyone`` (``planbridge reminders send --all``) sends this week's weekly
reminder whatever the hour, and still once.

A queued reminder message that is no longer relevant (its week is over, or the person checked in
meanwhile: a mail server down for days) is withdrawn before the outbox sends it.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models import MessageDelivery, MessageState, Person, Reminder, ReminderKind, Workspace
from app.schemas.weeks import IsoWeek
from app.services.checkin_drafts import CheckInDraft, draft_check_in
from app.services.checkin_links import checkin_url, issue_link
from app.services.messages.compose import CHECKIN_FOLLOW_UP, CHECKIN_REQUEST, checkin_request
from app.services.messages.outbox import Message, queue_message
from app.services.owner_week import OwnerWeek, checked_in_people, open_work_plans, owner_week
from app.services.pagination import PageSlice, creation_order, paginate
from app.services.reminder_cadence import cadences_of_plans
from app.services.reminder_schedule import follow_up_due, local_week, still_relevant, weekly_due
from app.services.time_zones import person_time_zone
from app.services.workspace_settings import get_workspace
from app.settings import Settings

log = logging.getLogger(__name__)

# Any constant: the PostgreSQL advisory lock under which one worker at a time decides reminders
# (the unique key keeps them single anyway; the lock saves the other workers the work).
REMINDER_LOCK_KEY = 0x706C616E_72656D69
# Stands in for a token in a preview: no link is issued for it.
PREVIEW_TOKEN = "<your-personal-link>"
MESSAGE_KINDS = {ReminderKind.weekly: CHECKIN_REQUEST, ReminderKind.follow_up: CHECKIN_FOLLOW_UP}


@dataclass(frozen=True)
class DueReminder:
    person: Person
    zone: ZoneInfo
    week: IsoWeek  # the week the reminder is about (its unique key)
    kind: ReminderKind
    due_at: datetime


@dataclass
class _Workspace:
    """What deciding a workspace's reminders needs, read with a few queries."""

    people: list[Person]
    zones: dict[uuid.UUID, ZoneInfo]
    weeks: dict[uuid.UUID, IsoWeek]  # each person's local week now
    plans: dict[IsoWeek, dict[uuid.UUID, set[uuid.UUID]]]
    checked_in: set[tuple[uuid.UUID, str]]
    sent: dict[tuple[uuid.UUID, str, str], Reminder]


def _read_workspace(session: Session, workspace: Workspace, now: datetime) -> _Workspace:
    people = list(
        session.exec(
            select(Person).where(col(Person.workspace_id) == workspace.id).order_by(col(Person.id))
        ).all()
    )
    zones = {person.id: person_time_zone(session, person) for person in people}
    weeks = {p.id: local_week(now, zones[p.id]) for p in people}
    current = set(weeks.values())
    both = current | {week.shifted(-1) for week in current}
    sent = session.exec(
        select(Reminder).where(
            col(Reminder.workspace_id) == workspace.id,
            col(Reminder.iso_week).in_([str(week) for week in both]),
        )
    ).all()
    return _Workspace(
        people=people,
        zones=zones,
        weeks=weeks,
        plans={week: open_work_plans(session, workspace.id, week) for week in current},
        checked_in=checked_in_people(session, workspace.id, list(both)),
        sent={(row.person_id, row.iso_week, row.kind): row for row in sent},
    )


def _follow_up(
    facts: _Workspace, person: Person, this_weeks_due: datetime, now: datetime
) -> DueReminder | None:
    """The follow-up due now, of this week's reminder or of last week's (a Friday's on Monday)."""
    week, zone = facts.weeks[person.id], facts.zones[person.id]
    if (person.id, str(week)) in facts.checked_in:
        return None
    for reminded_week in (week, week.shifted(-1)):
        weekly = facts.sent.get((person.id, str(reminded_week), ReminderKind.weekly))
        if weekly is None or (person.id, str(reminded_week)) in facts.checked_in:
            continue
        if (person.id, str(reminded_week), ReminderKind.follow_up) in facts.sent:
            continue
        due = follow_up_due(weekly.due_at, zone)
        # Last week's follow-up is moot once this week's reminder is due.
        if still_relevant(due, now, zone) and (reminded_week == week or now < this_weeks_due):
            return DueReminder(person, zone, reminded_week, ReminderKind.follow_up, due)
    return None


def due_reminders(
    session: Session, workspace: Workspace, now: datetime, *, everyone: bool = False
) -> list[DueReminder]:
    """The reminders of the workspace to send at ``now`` (none already sent)."""
    facts = _read_workspace(session, workspace, now)
    cadences = cadences_of_plans(
        session,
        workspace.id,
        {plan for owners in facts.plans.values() for plans in owners.values() for plan in plans},
    )
    due = []
    for person in facts.people:
        week, zone = facts.weeks[person.id], facts.zones[person.id]
        plans = facts.plans[week].get(person.id)
        if not plans:
            continue
        this_weeks_due = min(weekly_due(week, cadences[plan], zone) for plan in plans)
        key = (person.id, str(week))
        if (
            key not in facts.checked_in
            and (*key, ReminderKind.weekly) not in facts.sent
            and (everyone or this_weeks_due <= now)
        ):
            at = min(this_weeks_due, now)
            due.append(DueReminder(person, zone, week, ReminderKind.weekly, at))
        elif not everyone:
            follow_up = _follow_up(facts, person, this_weeks_due, now)
            if follow_up is not None:
                due.append(follow_up)
    return due


@dataclass(frozen=True)
class PersonsWeek:
    """What a reminder says about the person: the check-in draft and the week at a glance."""

    draft: CheckInDraft
    glance: OwnerWeek

    def message(self, url: str, expires_at: datetime, *, follow_up: bool) -> Message:
        return checkin_request(self.draft, url, expires_at, glance=self.glance, follow_up=follow_up)


def persons_week(
    session: Session, person: Person, settings: Settings, now: datetime
) -> PersonsWeek:
    return PersonsWeek(
        draft_check_in(session, person, settings, now), owner_week(session, person, now)
    )


def reminder_message(
    session: Session,
    person: Person,
    settings: Settings,
    now: datetime,
    url: str,
    expires_at: datetime,
    *,
    follow_up: bool,
) -> Message:
    """What the person gets: the check-in request drafted from their work, their week at a
    glance, and their link."""
    return persons_week(session, person, settings, now).message(
        url, expires_at, follow_up=follow_up
    )


def send_reminder(
    session: Session, due: DueReminder, settings: Settings, now: datetime
) -> Reminder | None:
    """Record the reminder and queue its messages with a fresh link; None: already sent.

    The person's week is read before the first write: on SQLite a transaction holds the write
    turn from its first write to its commit, and the reads are most of the work.
    """
    week = persons_week(session, due.person, settings, now)
    reminder = Reminder(
        workspace_id=due.person.workspace_id,
        person_id=due.person.id,
        iso_week=str(due.week),
        kind=due.kind,
        due_at=due.due_at,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(reminder)
    except IntegrityError:
        return None  # another worker (or an earlier run) sent it
    link, token = issue_link(session, due.person.workspace_id, due.person.id, settings, now)
    message = week.message(
        checkin_url(settings, token),
        link.expires_at,
        follow_up=due.kind == ReminderKind.follow_up,
    )
    # Keyed by the reminded week, which a Monday follow-up's draft is not.
    message = dataclasses.replace(message, iso_week=str(due.week))
    reminder.messages = len(queue_message(session, due.person, message, settings, now))
    session.add(reminder)
    session.flush()
    if not reminder.messages:
        log.warning("person %s has no channel: reminder for %s not sent", due.person.id, due.week)
    return reminder


@dataclass(frozen=True)
class ReminderPreview:
    message: Message
    due_at: datetime | None  # this week's weekly reminder, in UTC
    not_sent_because: str | None


def preview_reminder(
    session: Session, person: Person, settings: Settings, now: datetime
) -> ReminderPreview:
    """The weekly reminder the person would get, with a placeholder instead of a new link (none
    is issued), and when it is due this week or why it is not sent."""
    workspace = get_workspace(session, person.workspace_id)
    zone = person_time_zone(session, person)
    week = local_week(now, zone)
    plans = open_work_plans(session, workspace.id, week).get(person.id, set())
    expires_at = now + timedelta(days=settings.checkin_link_days)
    message = reminder_message(
        session,
        person,
        settings,
        now,
        checkin_url(settings, PREVIEW_TOKEN),
        expires_at,
        follow_up=False,
    )
    if not plans:
        return ReminderPreview(message, None, "owns no open work in a plan running this week")
    cadences = cadences_of_plans(session, workspace.id, plans)
    due = min(weekly_due(week, cadences[plan], zone) for plan in plans)
    if (person.id, str(week)) in checked_in_people(session, workspace.id, [week]):
        return ReminderPreview(message, due, f"already checked in for {week}")
    return ReminderPreview(message, due, None)


def people_with_email(session: Session, email: str, workspace_name: str | None) -> list[Person]:
    """The people with this e-mail address (any case), in one workspace or in all."""
    query = select(Person).where(func.lower(col(Person.email)) == email.strip().lower())
    if workspace_name is not None:
        query = query.join(Workspace, col(Workspace.id) == col(Person.workspace_id)).where(
            col(Workspace.name) == workspace_name
        )
    return list(session.exec(query.order_by(col(Person.id))).all())


def _locked(session: Session) -> bool:
    """On PostgreSQL, whether this transaction got the reminder lock (SQLite: one writer)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": REMINDER_LOCK_KEY}
        ).scalar()
    )


def remind_due(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    workspace_names: list[str] | None = None,
    everyone: bool = False,
    limit: int | None = None,
) -> list[Reminder]:
    """Send the reminders due at ``now`` (``everyone``: this week's to all), at most ``limit``;
    the ones sent."""
    with Session(engine) as session:
        query = select(Workspace).order_by(col(Workspace.name))
        if workspace_names is not None:
            query = query.where(col(Workspace.name).in_(workspace_names))
        workspace_ids = [workspace.id for workspace in session.exec(query).all()]
    sent: list[Reminder] = []
    for workspace_id in workspace_ids:
        if len(sent) == limit:
            break
        with Session(engine, expire_on_commit=False) as session:
            workspace = session.get(Workspace, workspace_id)
            if workspace is None or not _locked(session):
                continue  # gone, or another worker is at it: its next check picks up the rest
            pending = due_reminders(session, workspace, now, everyone=everyone)
            session.commit()
            for due in pending:
                # One transaction each: a reminder and its messages are kept or lost together,
                # and no other writer waits behind a batch.
                if len(sent) == limit or not _locked(session):
                    break
                reminder = send_reminder(session, due, settings, now)
                session.commit()
                if reminder is not None:
                    sent.append(reminder)
    return sent


def withdraw_stale_messages(session: Session, now: datetime) -> int:
    """Queued reminder messages whose week is over, or whose person has checked in, are not sent
    (a mail server that was down for days); the number withdrawn."""
    rows = session.exec(
        select(MessageDelivery, Reminder, Person)
        .join(
            Reminder,
            (col(Reminder.person_id) == col(MessageDelivery.person_id))
            & (col(Reminder.iso_week) == col(MessageDelivery.iso_week)),
        )
        .join(Person, col(Person.id) == col(MessageDelivery.person_id))
        .where(
            col(MessageDelivery.state) == MessageState.queued,
            col(MessageDelivery.kind).in_(list(MESSAGE_KINDS.values())),
        )
    ).all()
    withdrawn = 0
    for delivery, reminder, person in rows:
        if MESSAGE_KINDS[ReminderKind(reminder.kind)] != delivery.kind:
            continue
        zone = person_time_zone(session, person)
        weeks = [IsoWeek.parse(reminder.iso_week), local_week(now, zone)]
        if not still_relevant(reminder.due_at, now, zone):
            reason = "not sent: its week is over"
        elif checked_in_people(session, person.workspace_id, weeks) & {
            (person.id, str(week)) for week in weeks
        }:
            reason = "not sent: checked in meanwhile"
        else:
            continue
        delivery.state = MessageState.failed
        delivery.last_error = reason
        delivery.next_attempt_at = None
        session.add(delivery)
        withdrawn += 1
    session.flush()
    return withdrawn


def list_reminders(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    iso_week: str | None,
    person_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> PageSlice[Reminder]:
    statement = select(Reminder).where(col(Reminder.workspace_id) == workspace_id)
    if iso_week is not None:
        statement = statement.where(col(Reminder.iso_week) == iso_week)
    if person_id is not None:
        statement = statement.where(col(Reminder.person_id) == person_id)
    return paginate(
        session,
        statement,
        creation_order(Reminder),
        limit=limit,
        offset=offset,
    )
