"""Outbound notifications: subscriptions, signed JSON events, an outbox with retries and a
delivery log.

Every event is a JSON object ``{"id", "type", "created_at", "data", "text"}``; ``text`` is plain
text,
so a Slack incoming webhook URL can be subscribed as it is. Each request carries

    X-Planbridge-Event: item.status_changed
    X-Planbridge-Delivery: <event id>
    X-Planbridge-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]

where each ``v1`` is HMAC-SHA256(secret, f"{t}.{raw body}"). During a secret rotation's grace period
the header holds one ``v1`` per valid secret (new first); a receiver accepts the request when any of
them matches its secret (``verify_signature`` below is the reference check) and should refuse a
``t``
older than five minutes. Failed deliveries (no 2xx, timeout) are retried with exponential backoff:
30 s, 1 min, 2 min, ... capped at 6 h, at most ``MAX_ATTEMPTS`` times, then marked ``failed``.
A delivery is only ever made to a subscription of the event's own workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.crypto import decrypt_text, encrypt_text
from app.db import utcnow
from app.errors import InvalidField
from app.models import ActionItem, EventKind, ItemEvent
from app.models.execution import DeliveryState, NotificationDelivery, Subscription
from app.schemas.execution import SecretRotation, SubscriptionCreate
from app.security.urls import check_base_url
from app.services.pagination import PageSlice, paginate
from app.services.tenancy import get_in_workspace
from app.settings import Settings, get_settings
from connectors.outbound import GuardedTransport, OutboundRefused

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Planbridge-Signature"
EVENT_HEADER = "X-Planbridge-Event"
DELIVERY_HEADER = "X-Planbridge-Delivery"
MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
# A claimed delivery is hidden from other workers this long; longer than one request's timeout.
CLAIM_LEASE = timedelta(minutes=2)
REQUEST_TIMEOUT_SECONDS = 10.0
SIGNATURE_TOLERANCE_SECONDS = 300


def check_subscription_url(url: str, settings: Settings) -> str:
    """Same guard as connection base URLs (no private or loopback targets unless allowed)."""
    try:
        return check_base_url(url, policy=settings.address_policy)
    except InvalidField as error:
        raise InvalidField("url", error.detail.replace("base_url", "url")) from error


def create_subscription(
    session: Session, workspace_id: uuid.UUID, data: SubscriptionCreate, settings: Settings
) -> tuple[Subscription, str]:
    url = check_subscription_url(data.url, settings)
    secret = data.secret or secrets.token_urlsafe(32)
    subscription = Subscription(
        workspace_id=workspace_id,
        url=url,
        description=data.description,
        event_types=list(data.event_types),
        secret_encrypted=encrypt_text(settings, secret),
    )
    session.add(subscription)
    session.flush()
    return subscription, secret


def get_subscription(
    session: Session, workspace_id: uuid.UUID, subscription_id: uuid.UUID
) -> Subscription:
    return get_in_workspace(session, Subscription, subscription_id, workspace_id)


def list_subscriptions(
    session: Session, workspace_id: uuid.UUID, *, limit: int, offset: int
) -> PageSlice[Subscription]:
    statement = select(Subscription).where(col(Subscription.workspace_id) == workspace_id)
    return paginate(
        session,
        statement,
        [col(Subscription.created_at), col(Subscription.id)],
        limit=limit,
        offset=offset,
    )


def delete_subscription(
    session: Session, workspace_id: uuid.UUID, subscription_id: uuid.UUID
) -> None:
    session.delete(get_subscription(session, workspace_id, subscription_id))
    session.flush()


def rotate_secret(
    session: Session,
    workspace_id: uuid.UUID,
    subscription_id: uuid.UUID,
    data: SecretRotation,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> tuple[Subscription, str]:
    """A new secret; the old one keeps signing too for ``grace_seconds`` so receivers can switch."""
    now = now or utcnow()
    subscription = get_subscription(session, workspace_id, subscription_id)
    secret = data.secret or secrets.token_urlsafe(32)
    subscription.previous_secret_encrypted = (
        subscription.secret_encrypted if data.grace_seconds else None
    )
    subscription.previous_secret_until = (
        now + timedelta(seconds=data.grace_seconds) if data.grace_seconds else None
    )
    subscription.secret_encrypted = encrypt_text(settings, secret)
    session.add(subscription)
    session.flush()
    return subscription, secret


def signing_secrets(subscription: Subscription, settings: Settings, now: datetime) -> list[str]:
    keys = [decrypt_text(settings, subscription.secret_encrypted)]
    until = subscription.previous_secret_until
    if subscription.previous_secret_encrypted and until is not None and until > now:
        keys.append(decrypt_text(settings, subscription.previous_secret_encrypted))
    return keys


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(keys: list[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={_mac(key, timestamp, body)}" for key in keys)])


def verify_signature(header: str, body: bytes, secret: str, *, now: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, refuse old timestamps."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in parts if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((now if now is not None else time.time()) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")


def enqueue_event(
    session: Session,
    workspace_id: uuid.UUID,
    event_type: str,
    payload: dict[str, Any],
    *,
    text: str | None = None,
    event_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[NotificationDelivery]:
    """One pending delivery per active subscription of this workspace that wants ``event_type``."""
    now = now or utcnow()
    subscriptions = session.exec(
        select(Subscription).where(
            col(Subscription.workspace_id) == workspace_id, col(Subscription.active).is_(True)
        )
    ).all()
    event_id = event_id or uuid.uuid4()
    body = {
        "id": str(event_id),
        "type": event_type,
        "created_at": now.isoformat(),
        "data": payload,
        "text": text or f"planbridge: {event_type}",
    }
    deliveries = []
    for subscription in subscriptions:
        if event_type not in subscription.event_types:
            continue
        delivery = NotificationDelivery(
            workspace_id=workspace_id,
            subscription_id=subscription.id,
            event_id=event_id,
            event_type=event_type,
            payload=body,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(delivery)
        deliveries.append(delivery)
    return deliveries


def backoff(attempts: int) -> timedelta:
    delay: timedelta = FIRST_BACKOFF * (2 ** max(0, attempts - 1))
    return min(MAX_BACKOFF, delay)


def _claim(engine: Engine, now: datetime, limit: int) -> list[uuid.UUID]:
    """Take due deliveries for this worker by pushing their next attempt past a lease."""
    with Session(engine) as session:
        query = (
            select(NotificationDelivery)
            .where(
                col(NotificationDelivery.state) == DeliveryState.pending,
                col(NotificationDelivery.next_attempt_at) <= now,
            )
            .order_by(col(NotificationDelivery.next_attempt_at))
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = session.exec(query).all()
        for delivery in claimed:
            delivery.next_attempt_at = now + CLAIM_LEASE
            session.add(delivery)
        session.commit()
        return [delivery.id for delivery in claimed]


def _attempt(
    session: Session,
    delivery: NotificationDelivery,
    settings: Settings,
    client: httpx.Client,
    now: datetime,
) -> None:
    subscription = session.get(Subscription, delivery.subscription_id)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    # The workspace check is belt and braces: deliveries are only ever created for their own
    # workspace.
    if (
        subscription is None
        or subscription.workspace_id != delivery.workspace_id
        or not subscription.active
    ):
        delivery.state = DeliveryState.failed
        delivery.last_error = "subscription gone or inactive"
        delivery.next_attempt_at = None
        return
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "planbridge-notifications",
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.event_id),
        SIGNATURE_HEADER: signature_header(
            signing_secrets(subscription, settings, now), int(now.timestamp()), body
        ),
    }
    try:
        response = client.post(subscription.url, content=body, headers=headers)
        delivery.last_status_code = response.status_code
        delivery.last_error = None if response.is_success else f"HTTP {response.status_code}"
        succeeded = response.is_success
    except (httpx.HTTPError, OutboundRefused) as error:
        delivery.last_status_code = None
        delivery.last_error = f"{type(error).__name__}: {error}"[:500]
        succeeded = False
    if succeeded:
        delivery.state = DeliveryState.delivered
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = DeliveryState.failed
        delivery.next_attempt_at = None
        log.warning(
            "notification delivery %s gave up after %s attempts", delivery.id, delivery.attempts
        )
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)


def deliver_due_notifications(
    engine: Engine,
    now: datetime | None = None,
    *,
    settings: Settings | None = None,
    client: httpx.Client | None = None,
    limit: int = 100,
) -> int:
    """Send every due delivery once (the worker calls this each loop); the number attempted."""
    now = now or utcnow()
    settings = settings or get_settings()
    claimed = _claim(engine, now, limit)
    if not claimed:
        return 0
    own_client = client is None
    http = client or httpx.Client(
        transport=GuardedTransport(settings.address_policy), timeout=REQUEST_TIMEOUT_SECONDS
    )
    try:
        for delivery_id in claimed:
            with Session(engine, expire_on_commit=False) as session:
                delivery = session.get(NotificationDelivery, delivery_id)
                if delivery is None:
                    continue
                _attempt(session, delivery, settings, http, now)
                session.add(delivery)
                session.commit()
    finally:
        if own_client:
            http.close()
    return len(claimed)


def list_deliveries(
    session: Session,
    workspace_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
) -> PageSlice[NotificationDelivery]:
    subscription = get_subscription(session, workspace_id, subscription_id)
    statement = select(NotificationDelivery).where(
        col(NotificationDelivery.workspace_id) == workspace_id,
        col(NotificationDelivery.subscription_id) == subscription.id,
    )
    order = [col(NotificationDelivery.created_at).desc(), col(NotificationDelivery.id)]
    return paginate(session, statement, order, limit=limit, offset=offset)


# --- Event sources -------------------------------------------------------------------------------
# Status changes reach planbridge through the API and through the sync engine alike; both append an
# ItemEvent of kind "status". A before_flush hook (installed by app.session_hooks) sees those rows
# on every path without each writer having to remember to notify.

# The goals whose items changed status in this transaction, kept on the session until its commit
# (``app.services.health.publish_touched_goal_health``).
TOUCHED_GOALS = "planbridge.notifications.touched_goals"


def enqueue_status_notifications(session: Session, _context: Any, _instances: Any) -> None:
    """Before each flush: ``item.status_changed`` for every new ``status`` event."""
    status_events = [
        row for row in session.new if isinstance(row, ItemEvent) and row.kind == EventKind.status
    ]
    if not status_events:
        return
    with session.no_autoflush:
        for event in status_events:
            item = session.get(ActionItem, event.item_id) if event.item_id else None
            title = item.title if item else "an item"
            enqueue_event(
                session,
                event.workspace_id,
                "item.status_changed",
                {
                    "item_id": str(event.item_id),
                    "goal_id": str(event.goal_id),
                    "title": title,
                    "from": event.from_value,
                    "to": event.to_value,
                    "source": str(event.source),
                    "at": event.at.isoformat() if event.at else None,
                },
                text=f"{title}: {event.from_value} -> {event.to_value}",
            )
            if event.goal_id is not None:
                session.info.setdefault(TOUCHED_GOALS, set()).add(
                    (event.workspace_id, event.goal_id)
                )


def forget_touched_goals(session: Session) -> None:
    """After a rollback: the goals it touched changed nothing."""
    session.info.pop(TOUCHED_GOALS, None)
