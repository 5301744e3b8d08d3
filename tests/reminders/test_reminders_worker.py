"""The people loop moved through a week in Auckland, Berlin and Los Angeles against a real SMTP
server, on SQLite and PostgreSQL: one reminder per person and week at their local Friday 15:00,
one follow-up the next working morning only for those who did not check in, catch-up after
downtime (this week's only), and two workers without duplicates."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import Reminder
from app.settings import Settings
from tests.messages.servers import MailServer
from tests.reminders.conftest import MovedClock, Team, check_in, mails, people_loop

WEEKLY = "Your check-in for 2027-W10"
# Monday's follow-up opens the person's new week, 2027-W11, on their check-in page.
FOLLOW_UP = "Reminder: your check-in for 2027-W11"


def run_until(loop_clock: MovedClock, end: datetime, step: timedelta, *loops: object) -> None:
    while loop_clock.at < end:
        loop_clock.at += step
        for loop in loops:
            loop.step()  # type: ignore[attr-defined]


def sent_at(smtp: MailServer, received_before: int) -> int:
    return len(smtp.received) - received_before


def test_each_person_is_reminded_once_at_their_local_friday_15_and_followed_up_on_monday(
    engine: Engine, mail_settings: Settings, smtp: MailServer, team: Team
) -> None:
    # Monday 12:00 UTC: week 10 in every zone (earlier, Los Angeles is still in week 9).
    clock = MovedClock(datetime(2027, 3, 8, 12, 0, tzinfo=UTC))
    loop = people_loop(engine, mail_settings, clock, "people-1")
    quarter = timedelta(minutes=15)
    # Friday 15:00 in Auckland (UTC+13) is Friday 02:00 UTC: nobody else yet.
    run_until(clock, datetime(2027, 3, 12, 2, 0, tzinfo=UTC), quarter, loop)
    assert mails(smtp) == {(team.email("Pacific/Auckland"), WEEKLY): 1}
    # Berlin (UTC+1) at 14:00 UTC, Los Angeles (UTC-8) at 23:00 UTC.
    run_until(clock, datetime(2027, 3, 12, 13, 45, tzinfo=UTC), quarter, loop)
    assert len(smtp.received) == 1
    run_until(clock, datetime(2027, 3, 12, 14, 0, tzinfo=UTC), quarter, loop)
    assert mails(smtp)[(team.email("Europe/Berlin"), WEEKLY)] == 1
    # Berlin checks in on Friday evening; the others do not.
    check_in(engine, team, "Europe/Berlin", "2027-W10")
    run_until(clock, datetime(2027, 3, 12, 23, 0, tzinfo=UTC), quarter, loop)
    assert mails(smtp)[(team.email("America/Los_Angeles"), WEEKLY)] == 1

    # Through Monday 09:00 everywhere (Auckland: Sunday 20:00 UTC; LA, now on PDT: 16:00 UTC).
    run_until(clock, datetime(2027, 3, 16, 12, 0, tzinfo=UTC), quarter, loop)

    assert mails(smtp) == {
        (team.email("Pacific/Auckland"), WEEKLY): 1,
        (team.email("Europe/Berlin"), WEEKLY): 1,
        (team.email("America/Los_Angeles"), WEEKLY): 1,
        (team.email("Pacific/Auckland"), FOLLOW_UP): 1,
        (team.email("America/Los_Angeles"), FOLLOW_UP): 1,
    }
    follow_up = next(m for m in smtp.received if m["Subject"] == FOLLOW_UP)
    parts = {part.get_content_type(): part.get_payload() for part in follow_up.walk()}
    text = parts["text/plain"]
    assert "You have not checked in yet." in text
    assert "https://plans.example.com/checkin/" in text
    with Session(engine) as session:
        rows = session.exec(select(Reminder)).all()
        due = {(row.person_id, row.kind): row.due_at for row in rows}
    auckland = team.people["Pacific/Auckland"].id
    assert due[(auckland, "weekly")] == datetime(2027, 3, 12, 2, 0, tzinfo=UTC)
    assert due[(auckland, "follow_up")] == datetime(2027, 3, 14, 20, 0, tzinfo=UTC)
    los_angeles = team.people["America/Los_Angeles"].id
    assert due[(los_angeles, "follow_up")] == datetime(2027, 3, 15, 16, 0, tzinfo=UTC)


def test_a_worker_down_at_the_due_time_catches_up_once_with_this_weeks_reminder(
    engine: Engine, mail_settings: Settings, smtp: MailServer, team: Team
) -> None:
    clock = MovedClock(datetime(2027, 3, 11, 12, 0, tzinfo=UTC))
    loop = people_loop(engine, mail_settings, clock, "people-1")
    loop.step()
    assert smtp.received == []
    # Down from Thursday until Saturday 10:00 UTC: still week 10 in every zone.
    clock.at = datetime(2027, 3, 13, 10, 0, tzinfo=UTC)
    loop.step()
    restarted = people_loop(engine, mail_settings, clock, "people-2")
    run_until(clock, datetime(2027, 3, 13, 12, 0, tzinfo=UTC), timedelta(minutes=5), restarted)

    assert mails(smtp) == {(team.email(zone), WEEKLY): 1 for zone in team.people}


def test_a_week_missed_entirely_sends_no_stale_reminder(
    engine: Engine, mail_settings: Settings, smtp: MailServer, team: Team
) -> None:
    clock = MovedClock(datetime(2027, 3, 11, 12, 0, tzinfo=UTC))
    people_loop(engine, mail_settings, clock, "people-1").step()
    # Down until Tuesday of the next week: week 10's reminder is past, week 11's not yet due.
    clock.at = datetime(2027, 3, 16, 12, 0, tzinfo=UTC)
    people_loop(engine, mail_settings, clock, "people-2").step()

    assert smtp.received == []
    with Session(engine) as session:
        assert session.exec(select(Reminder)).all() == []


def test_two_workers_stepping_at_once_send_each_reminder_once(
    engine: Engine, mail_settings: Settings, smtp: MailServer, team: Team
) -> None:
    clock = MovedClock(datetime(2027, 3, 13, 10, 0, tzinfo=UTC))  # everyone is due
    loops = [people_loop(engine, mail_settings, clock, f"people-{n}") for n in range(2)]
    start = threading.Barrier(len(loops))

    def step(loop: object) -> None:
        start.wait()
        for _ in range(3):
            loop.step()  # type: ignore[attr-defined]

    threads = [threading.Thread(target=step, args=(loop,)) for loop in loops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert mails(smtp) == {(team.email(zone), WEEKLY): 1 for zone in team.people}
    with Session(engine) as session:
        assert len(session.exec(select(Reminder)).all()) == 3
