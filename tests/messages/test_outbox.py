"""The message outbox against a real SMTP server and a chat webhook on loopback, on SQLite and
PostgreSQL: sending, the unique key, retries, permanent refusals and a server that is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.models import MessageChannel, MessageDelivery, MessageState, Person, PersonChannels
from app.observability.logging import redact
from app.services.messages.channels import update_channels
from app.services.messages.outbox import (
    CLAIM_LEASE,
    Message,
    queue_message,
    send_due_messages,
)
from app.services.messages.smtp import parse_smtp_url
from app.services.outbox_claims import claim_due
from app.settings import Settings
from tests.conftest import Tenant
from tests.messages.servers import (
    SMTP_PASSWORD,
    ChatReceiver,
    MailServer,
    with_mail_server,
)
from tests.trackers.server import free_port

NOW = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
WEEKLY = Message(
    kind="checkin_request",
    iso_week="2027-W09",
    subject="Your check-in for 2027-W09",
    text="Hello Ada, how are your goals going?",
    html="<p>Hello Ada, how are your goals going?</p>",
)
NUDGE = Message(
    kind="nudge", iso_week="2027-W09", subject="An item is overdue", text="Overdue", topic="x"
)


def add_person(engine: Engine, tenant: Tenant, email: str = "ada@example.com") -> Person:
    with Session(engine, expire_on_commit=False) as session:
        person = Person(workspace_id=tenant.workspace_id, name="Ada", email=email)
        session.add(person)
        session.commit()
        return person


def queue(engine: Engine, person: Person, message: Message, settings: Settings) -> int:
    with Session(engine) as session:
        queued = queue_message(session, person, message, settings, NOW)
        session.commit()
        return len(queued)


def deliveries(engine: Engine) -> list[MessageDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(MessageDelivery)).all())


def test_email_is_sent_as_text_and_html_after_plain_smtp_login(
    engine: Engine, tenant: Tenant, settings: Settings, smtp: MailServer
) -> None:
    settings = with_mail_server(settings, smtp.url)
    person = add_person(engine, tenant)
    assert queue(engine, person, WEEKLY, settings) == 1

    assert send_due_messages(engine, NOW, settings) == 1

    assert smtp.logins == ["planbridge"]
    [received] = smtp.received
    assert received["To"] == "ada@example.com"
    assert received["Subject"] == "Your check-in for 2027-W09"
    assert received.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_payload() for part in received.walk()}
    assert "how are your goals going" in parts["text/plain"]
    assert "<p>Hello Ada" in parts["text/html"]
    # The weekly request is not something a person opts out of; nudges are (below).
    assert received["List-Unsubscribe"] is None
    [delivery] = deliveries(engine)
    assert (delivery.state, delivery.attempts, delivery.sent_at) == (MessageState.sent, 1, NOW)


def test_nudge_email_carries_a_one_click_unsubscribe_link(
    engine: Engine, tenant: Tenant, settings: Settings, smtp: MailServer
) -> None:
    settings = with_mail_server(settings, smtp.url)
    person = add_person(engine, tenant)
    queue(engine, person, NUDGE, settings)

    send_due_messages(engine, NOW, settings)

    [received] = smtp.received
    assert received["List-Unsubscribe"].startswith("<https://plans.example.com/unsubscribe/")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_same_message_is_queued_once(
    engine: Engine, tenant: Tenant, settings: Settings, smtp: MailServer
) -> None:
    settings = with_mail_server(settings, smtp.url)
    person = add_person(engine, tenant)

    assert queue(engine, person, WEEKLY, settings) == 1
    assert queue(engine, person, WEEKLY, settings) == 0
    send_due_messages(engine, NOW, settings)
    assert queue(engine, person, WEEKLY, settings) == 0

    assert len(deliveries(engine)) == 1
    assert len(smtp.received) == 1


def test_temporary_refusal_is_retried_after_a_backoff(
    engine: Engine, tenant: Tenant, settings: Settings, smtp: MailServer
) -> None:
    settings = with_mail_server(settings, smtp.url)
    person = add_person(engine, tenant)
    queue(engine, person, WEEKLY, settings)
    smtp.rcpt_replies.append("451 4.3.0 Mailbox busy, try later")

    send_due_messages(engine, NOW, settings)
    [delivery] = deliveries(engine)
    assert delivery.state == MessageState.queued
    assert delivery.attempts == 1
    assert delivery.last_error is not None and "451" in delivery.last_error
    assert delivery.next_attempt_at == NOW + timedelta(seconds=30)
    # Not due before its backoff has passed.
    assert send_due_messages(engine, NOW + timedelta(seconds=10), settings) == 0

    send_due_messages(engine, NOW + timedelta(seconds=30), settings)

    [delivery] = deliveries(engine)
    assert (delivery.state, delivery.attempts) == (MessageState.sent, 2)
    assert len(smtp.received) == 1


def test_permanent_refusal_fails_the_message_and_marks_the_person_unreachable(
    engine: Engine, tenant: Tenant, settings: Settings, smtp: MailServer
) -> None:
    settings = with_mail_server(settings, smtp.url)
    person = add_person(engine, tenant, email="nobody@example.com")
    queue(engine, person, WEEKLY, settings)
    smtp.rcpt_replies.append("550 5.1.1 No such user here")

    send_due_messages(engine, NOW, settings)

    [delivery] = deliveries(engine)
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (
        MessageState.failed,
        1,
        None,
    )
    with Session(engine) as session:
        channels = session.get(PersonChannels, person.id)
        assert channels is not None
        assert channels.unreachable_reason is not None
        assert "550" in channels.unreachable_reason
        assert "No such user" in channels.unreachable_reason


def test_smtp_server_down_keeps_the_mail_queued_and_still_sends_chat(
    engine: Engine, tenant: Tenant, settings: Settings, chat: ChatReceiver
) -> None:
    closed_port = free_port()
    settings = with_mail_server(
        settings, f"smtp://planbridge:{SMTP_PASSWORD}@127.0.0.1:{closed_port}?starttls=off"
    )
    person = add_person(engine, tenant)
    other = add_person(engine, tenant, email="grace@example.com")
    with Session(engine) as session:
        update_channels(
            session, tenant.workspace_id, person.id, {"chat_webhook_url": chat.url}, settings, NOW
        )
        session.commit()
    queue(engine, person, WEEKLY, settings)
    queue(engine, other, WEEKLY, settings)

    assert send_due_messages(engine, NOW, settings) == 3

    assert chat.received == [{"text": "*Your check-in for 2027-W09*\n" + WEEKLY.text}]
    by_channel = {(d.person_id, d.channel): d for d in deliveries(engine)}
    assert by_channel[(person.id, MessageChannel.chat)].state == MessageState.sent
    for mail in (
        by_channel[(person.id, MessageChannel.email)],
        by_channel[(other.id, MessageChannel.email)],
    ):
        assert mail.state == MessageState.queued
        assert mail.attempts == 0  # the server was never reached: no attempt counted
        assert mail.last_error is not None and "unreachable" in mail.last_error
        assert mail.next_attempt_at is not None and mail.next_attempt_at > NOW
    with Session(engine) as session:
        assert session.get(PersonChannels, other.id) is None  # nobody was marked unreachable


def test_chat_server_error_is_retried_and_a_removed_webhook_marks_the_person_unreachable(
    engine: Engine, tenant: Tenant, settings: Settings, chat: ChatReceiver
) -> None:
    person = add_person(engine, tenant, email="")
    with Session(engine) as session:
        update_channels(
            session, tenant.workspace_id, person.id, {"chat_webhook_url": chat.url}, settings, NOW
        )
        session.commit()
    queue(engine, person, WEEKLY, settings)
    chat.statuses.extend([503, 404])

    send_due_messages(engine, NOW, settings)
    [delivery] = deliveries(engine)
    assert (delivery.state, delivery.attempts) == (MessageState.queued, 1)

    send_due_messages(engine, NOW + timedelta(minutes=1), settings)

    [delivery] = deliveries(engine)
    assert (delivery.state, delivery.attempts) == (MessageState.failed, 2)
    assert delivery.last_error == "chat webhook answered HTTP 404"
    with Session(engine) as session:
        channels = session.get(PersonChannels, person.id)
        assert channels is not None and channels.unreachable_reason is not None
        assert "HTTP 404" in channels.unreachable_reason


def test_a_claimed_message_is_not_claimed_by_a_second_worker(
    engine: Engine, tenant: Tenant, settings: Settings, smtp: MailServer
) -> None:
    settings = with_mail_server(settings, smtp.url)
    queue(engine, add_person(engine, tenant), WEEKLY, settings)

    queued = col(MessageDelivery.state) == MessageState.queued
    first = claim_due(engine, MessageDelivery, queued, now=NOW, lease=CLAIM_LEASE, limit=10)
    second = claim_due(engine, MessageDelivery, queued, now=NOW, lease=CLAIM_LEASE, limit=10)

    assert len(first) == 1
    assert second == []


def test_one_click_unsubscribe_opts_the_person_out_of_nudges(
    engine: Engine, tenant: Tenant, settings: Settings, smtp: MailServer, client: TestClient
) -> None:
    settings = with_mail_server(settings, smtp.url)
    client.app.state.settings = settings  # type: ignore[attr-defined]
    person = add_person(engine, tenant)
    queue(engine, person, NUDGE, settings)
    send_due_messages(engine, NOW, settings)
    header = smtp.received[0]["List-Unsubscribe"]
    path = header.strip("<>").removeprefix("https://plans.example.com")

    shown = client.get(path)
    with Session(engine) as session:
        assert session.get(PersonChannels, person.id) is None  # opening the link changes nothing
    clicked = client.post(path, data={"List-Unsubscribe": "One-Click"})
    forged = client.post("/unsubscribe/not-a-token", data={"List-Unsubscribe": "One-Click"})

    assert (shown.status_code, clicked.status_code, forged.status_code) == (200, 200, 404)
    with Session(engine) as session:
        channels = session.get(PersonChannels, person.id)
        assert channels is not None and channels.nudges_opted_out
    later = Message(kind="nudge", iso_week="2027-W10", subject="Blocked", text="...", topic="y")
    assert queue(engine, person, later, settings) == 0


def test_smtp_password_is_kept_out_of_logs() -> None:
    password = "a-long-smtp-password-1234"
    parse_smtp_url(f"smtp://mailer:{password}@mail.example.com:587")

    assert password not in redact(f"login failed for mailer with {password}")


def test_smtp_url_without_opt_out_never_sends_without_starttls(
    engine: Engine, tenant: Tenant, settings: Settings, smtp: MailServer
) -> None:
    # The loopback server offers no STARTTLS: smtp:// requires it, so nothing goes out in clear.
    settings = with_mail_server(settings, smtp.url.removesuffix("?starttls=off"))
    queue(engine, add_person(engine, tenant), WEEKLY, settings)

    send_due_messages(engine, NOW, settings)

    assert smtp.received == []
    assert smtp.logins == []
    [delivery] = deliveries(engine)
    assert delivery.state == MessageState.queued
    assert delivery.last_error is not None and "did not start TLS" in delivery.last_error
