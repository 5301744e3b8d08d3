"""The message outbox: queue a message once per key, send what is due, log every outcome.

``queue_message`` adds one row per channel the person can be reached on; the unique key (person,
channel, kind, week, topic) makes queuing the same message twice a no-op. ``send_due_messages``
is what the worker calls: it claims due rows by pushing their next attempt past a lease
(``app.services.outbox_claims``, shared with the notification outbox), so two workers never send
one message twice, then sends each one in its own transaction. It takes the engine, not a
session, because the claim must be committed before the slow network part starts. Retries and
their backoff are the notification outbox's (app/services/notifications.py).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models import MessageChannel, MessageDelivery, MessageState, Person
from app.services.messages.channels import channels_of, mark_unreachable, unsubscribe_token
from app.services.messages.chat import post_chat_message
from app.services.messages.refusals import ChannelDown, MessageRefused
from app.services.messages.smtp import Email, SmtpServer, parse_smtp_url, send_email
from app.services.notifications import MAX_ATTEMPTS, backoff
from app.services.outbox_claims import attempt_each, claim_due, outbound_client
from app.services.pagination import PageSlice, creation_order, paginate
from app.services.teams import chat_target
from app.settings import Settings

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
# Kinds a person can opt out of (List-Unsubscribe); the weekly check-in request is not one.
NUDGE_KINDS = frozenset({"nudge"})
UNSUBSCRIBE_PATH = "/unsubscribe/"


@dataclass(frozen=True)
class Message:
    kind: str
    iso_week: str
    subject: str
    text: str
    html: str = ""
    topic: str = ""


def queue_message(
    session: Session, person: Person, message: Message, settings: Settings, now: datetime
) -> list[MessageDelivery]:
    """Queue the message on each channel the person has; the ones already queued are skipped."""
    channels = channels_of(session, person)
    if message.kind in NUDGE_KINDS and channels.nudges_opted_out:
        return []
    wanted = []
    if channels.email_enabled and person.email and settings.smtp_url is not None:
        wanted.append(MessageChannel.email)
    if channels.chat_webhook_encrypted or channels.team_id is not None:
        wanted.append(MessageChannel.chat)
    queued = []
    for channel in wanted:
        delivery = MessageDelivery(
            workspace_id=person.workspace_id,
            person_id=person.id,
            channel=channel,
            kind=message.kind,
            iso_week=message.iso_week,
            topic=message.topic,
            subject=message.subject,
            text_body=message.text,
            html_body=message.html,
            next_attempt_at=now,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(delivery)
        except IntegrityError:
            continue  # the same message is already queued (or sent)
        queued.append(delivery)
    return queued


class _Senders:
    """The channels of one pass; remembers an SMTP server that is down so the pass moves on."""

    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.settings = settings
        self.http = http
        self.smtp_down: str | None = None
        self.smtp: SmtpServer | None = (
            parse_smtp_url(settings.smtp_url.get_secret_value(), ca_file=settings.smtp_ca_file)
            if settings.smtp_url
            else None
        )

    def send(self, session: Session, delivery: MessageDelivery, person: Person) -> None:
        if delivery.channel == MessageChannel.chat:
            target = chat_target(session, channels_of(session, person), self.settings)
            if target is None:
                raise MessageRefused("no chat webhook any more", temporary=False)
            # On a team's channel, everyone reads it: say whom it is for.
            heading = f"*{delivery.subject}*" + (f" (for {person.name})" if target.team else "")
            post_chat_message(self.http, target.url, f"{heading}\n{delivery.text_body}")
            return
        if self.smtp is None or not self.settings.mail_from:
            raise MessageRefused(
                "e-mail is not set up (PLANBRIDGE_SMTP_URL, PLANBRIDGE_MAIL_FROM)", temporary=True
            )
        if self.smtp_down is not None:
            raise ChannelDown(self.smtp_down)
        if not person.email:
            raise MessageRefused("the person has no e-mail address", temporary=False)
        unsubscribe = None
        if delivery.kind in NUDGE_KINDS and self.settings.public_url:
            token = unsubscribe_token(self.settings, person.id)
            unsubscribe = f"{self.settings.public_url.rstrip('/')}{UNSUBSCRIBE_PATH}{token}"
        email = Email(
            sender=self.settings.mail_from,
            recipient=person.email,
            subject=delivery.subject,
            text=delivery.text_body,
            html=delivery.html_body,
            unsubscribe_url=unsubscribe,
        )
        try:
            send_email(self.smtp, email)
        except ChannelDown as error:
            self.smtp_down = error.reason
            raise


def _attempt(session: Session, delivery: MessageDelivery, senders: _Senders, now: datetime) -> None:
    person = session.get(Person, delivery.person_id)
    if person is None or person.workspace_id != delivery.workspace_id:
        delivery.state = MessageState.failed
        delivery.last_error = "person gone"
        delivery.next_attempt_at = None
        return
    try:
        senders.send(session, delivery, person)
    except ChannelDown as error:
        # The server was not reached: no attempt was made, so none is counted; nothing is lost.
        delivery.last_error = error.reason[:500]
        delivery.next_attempt_at = now + backoff(max(1, delivery.attempts))
        return
    except MessageRefused as error:
        delivery.attempts += 1
        delivery.last_error = error.reason[:500]
        if error.temporary and delivery.attempts < MAX_ATTEMPTS:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            return
        delivery.state = MessageState.failed
        delivery.next_attempt_at = None
        if error.person_unreachable:
            mark_unreachable(session, person, f"{delivery.channel}: {error.reason}", now)
        log.warning("message %s to person %s failed: %s", delivery.id, person.id, error.reason)
        return
    delivery.attempts += 1
    delivery.state = MessageState.sent
    delivery.sent_at = now
    delivery.last_error = None
    delivery.next_attempt_at = None


def send_due_messages(
    engine: Engine,
    now: datetime,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    limit: int = 50,
) -> int:
    """Try every due message once; the number attempted."""
    claimed = claim_due(
        engine,
        MessageDelivery,
        col(MessageDelivery.state) == MessageState.queued,
        now=now,
        lease=CLAIM_LEASE,
        limit=limit,
    )
    if not claimed:
        return 0
    with outbound_client(settings, client) as http:
        senders = _Senders(settings, http)

        def attempt(session: Session, delivery: MessageDelivery) -> None:
            if delivery.state == MessageState.queued:  # else withdrawn since the claim
                _attempt(session, delivery, senders, now)

        attempt_each(engine, MessageDelivery, claimed, attempt)
    return len(claimed)


def list_deliveries(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    person_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> PageSlice[MessageDelivery]:
    statement = select(MessageDelivery).where(col(MessageDelivery.workspace_id) == workspace_id)
    if person_id is not None:
        statement = statement.where(col(MessageDelivery.person_id) == person_id)
    return paginate(
        session,
        statement,
        creation_order(MessageDelivery),
        limit=limit,
        offset=offset,
    )
