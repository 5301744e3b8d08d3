"""Reminders reach people however they are set up, and a mail server that is down, or hangs,
loses none and holds nothing else up, on SQLite and PostgreSQL: chat webhooks on loopback, a
plan's own cadence, a server that comes back, a week that ends first, a server that never answers
while the worker pushes."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import Goal, MessageDelivery, MessageState, Person, PersonChannels
from app.services.messages.channels import update_channels
from app.services.messages.outbox import Message, queue_message
from app.services.reminder_cadence import Cadence, set_plan_cadence
from app.settings import Settings
from sync.worker import Worker
from tests.conftest import Tenant
from tests.messages.servers import MailServer, chat_receiver, mail_server
from tests.reminders.conftest import MovedClock, Team, check_in, mails, people_loop
from tests.sync.conftest import seed
from tests.trackers.server import free_port

WEEKLY = "Your check-in for 2027-W10"
SATURDAY = datetime(2027, 3, 13, 10, 0, tzinfo=UTC)  # everyone's Friday 15:00 has passed


def with_smtp(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"smtp_url": SecretStr(url)})


def deliveries(engine: Engine) -> list[MessageDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(MessageDelivery)).all())


def test_a_person_on_chat_only_gets_the_reminder_with_their_link_in_the_chat(
    engine: Engine, mail_settings: Settings, smtp: MailServer, team: Team
) -> None:
    berlin = team.people["Europe/Berlin"]
    with chat_receiver() as chat, Session(engine) as session:
        changes = {"email_enabled": False, "chat_webhook_url": chat.url}
        update_channels(session, team.workspace_id, berlin.id, changes, mail_settings, SATURDAY)
        session.commit()
        people_loop(engine, mail_settings, MovedClock(SATURDAY), "people-1").step()

        [posted] = chat.received
    assert posted["text"].startswith(f"*{WEEKLY}*\nHello Berlin,")
    assert "https://plans.example.com/checkin/" in posted["text"]
    assert "Due in the next 7 days" not in posted["text"]  # its item was due on Thursday
    assert 'Overdue: "Work in Europe/Berlin" (due Thu 11 Mar)' in posted["text"]
    assert berlin.email not in {recipient for recipient, _subject in mails(smtp)}
    assert len(smtp.received) == 2


def test_a_plans_own_cadence_reminds_its_owners_then_in_their_time_zone(
    engine: Engine, mail_settings: Settings, smtp: MailServer, team: Team
) -> None:
    with Session(engine) as session:
        goal = session.get(Goal, team.goal_id)
        assert goal is not None
        set_plan_cadence(session, team.workspace_id, goal.plan_id, Cadence(0, 9), SATURDAY)
        session.commit()
    # Monday 9:00 in Berlin is 08:00 UTC; in Auckland it was Sunday 20:00 UTC.
    clock = MovedClock(datetime(2027, 3, 8, 7, 59, tzinfo=UTC))
    loop = people_loop(engine, mail_settings, clock, "people-1")
    loop.step()
    # (Los Angeles is still in week 9 and gets that week's, which was due last Monday.)
    assert this_weeks(smtp) == {team.email("Pacific/Auckland")}
    clock.at = datetime(2027, 3, 8, 8, 0, tzinfo=UTC)
    loop.step()
    assert this_weeks(smtp) == {team.email("Pacific/Auckland"), team.email("Europe/Berlin")}


def this_weeks(smtp: MailServer) -> set[str]:
    return {recipient for recipient, subject in mails(smtp) if subject == WEEKLY}


def test_a_mail_server_that_was_down_gets_the_reminders_when_it_is_back(
    engine: Engine, mail_settings: Settings, team: Team
) -> None:
    port = free_port()
    settings = with_smtp(mail_settings, f"smtp://127.0.0.1:{port}?starttls=off")
    clock = MovedClock(SATURDAY)
    loop = people_loop(engine, settings, clock, "people-1")
    loop.step()
    queued = deliveries(engine)
    assert [row.state for row in queued] == [MessageState.queued] * 3
    assert all("unreachable" in (row.last_error or "") and row.attempts == 0 for row in queued)

    with mail_server(port) as smtp:
        server_url = smtp.url
        clock.at += timedelta(minutes=1)
        people_loop(engine, with_smtp(mail_settings, server_url), clock, "people-2").step()
        received = mails(smtp)

    assert received == {(team.email(zone), WEEKLY): 1 for zone in team.people}
    assert {row.state for row in deliveries(engine)} == {MessageState.sent}


def test_queued_reminders_whose_week_ended_or_who_checked_in_are_not_sent_late(
    engine: Engine, mail_settings: Settings, team: Team
) -> None:
    port = free_port()
    settings = with_smtp(mail_settings, f"smtp://127.0.0.1:{port}?starttls=off")
    clock = MovedClock(SATURDAY)
    people_loop(engine, settings, clock, "people-1").step()
    check_in(engine, team, "Europe/Berlin", "2027-W10")
    loop = people_loop(engine, settings, clock, "people-2")
    loop.step()
    berlin = team.people["Europe/Berlin"].id
    by_person = {row.person_id: row for row in deliveries(engine)}
    assert by_person[berlin].state == MessageState.failed
    assert by_person[berlin].last_error == "not sent: checked in meanwhile"

    # The server is down until Tuesday of the next week: week 10's reminder is moot by then.
    clock.at = datetime(2027, 3, 16, 18, 0, tzinfo=UTC)
    with mail_server(port) as smtp:
        people_loop(engine, with_smtp(mail_settings, smtp.url), clock, "people-3").step()
        subjects = {subject for _recipient, subject in mails(smtp)}

    assert WEEKLY not in subjects
    weekly = [row for row in deliveries(engine) if row.kind == "checkin_request"]
    assert {row.last_error for row in weekly if row.person_id != berlin} == {
        "not sent: its week is over"
    }


@pytest.fixture
def silent_smtp() -> Iterator[int]:
    """A port that takes connections and never says a word (a hung mail server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def test_a_mail_server_that_never_answers_holds_up_no_push(
    client: TestClient,
    tenant: Tenant,
    engine: Engine,
    settings: Settings,
    silent_smtp: int,
) -> None:
    seeded = seed(client, tenant, items=3)
    settings = settings.model_copy(
        update={
            "smtp_url": SecretStr(f"smtp://127.0.0.1:{silent_smtp}?starttls=off"),
            "mail_from": "planbridge@example.com",
        }
    )
    message = Message(kind="checkin_request", iso_week="2027-W10", subject="Hi", text="Check in")
    person_id = uuid.UUID(seeded.person_id)
    with Session(engine) as session:
        person = session.get(Person, person_id)
        assert person is not None
        person.email = "alice@example.com"
        queue_message(session, person, message, settings, datetime.now(UTC))
        session.commit()

    worker = Worker(engine, settings, threads=1, idle_seconds=0.05).start()
    try:
        started = time.monotonic()
        while len(seeded.tracker.all_items()) < 3 and time.monotonic() - started < 8:
            time.sleep(0.05)
        pushed_after = time.monotonic() - started
        states = {delivery.state for delivery in deliveries(engine)}
    finally:
        worker.stop()

    assert len(seeded.tracker.all_items()) == 3
    # Pushed while the mail thread still waited for the server's greeting (10 s timeout).
    assert pushed_after < 8 and states == {MessageState.queued}
    with Session(engine) as session:
        assert session.get(PersonChannels, person_id) is None  # a hung server is not a refusal
