"""The notification outbox: an event is enqueued as one pending row per subscription that wants
it, in the writer's transaction, and the worker sends what is due, signed, with retries.

Every event is a JSON object ``{"id", "type", "created_at", "data", "text"}``; ``text`` is plain
text, so a Slack incoming webhook URL can be subscribed as it is. How a request is signed is
``app.services.notification_signing``. Failed deliveries (no 2xx, timeout) are retried with
exponential backoff: 30 s, 1 min, 2 min, ... capped at 6 h, at most ``MAX_ATTEMPTS`` times, then
marked ``failed``. A delivery is only ever made to a subscription of the event's own workspace.

``deliver_due_notifications`` is the worker's part: it takes the engine, not a session, because
each delivery is claimed (``app.services.outbox_claims``) and then sent and recorded in a
transaction of its own, committed here, so a slow receiver never holds a writer's transaction.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.db import utcnow
from app.models.execution import DeliveryState, NotificationDelivery, Subscription
from app.services.notification_signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature_header,
    signing_secrets,
)
from app.services.outbox_claims import attempt_each, claim_due, outbound_client
from app.services.subscriptions import active_subscriptions
from app.settings import Settings, get_settings
from connectors.outbound import OutboundRefused

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
# A claimed delivery is hidden from other workers this long; longer than one request's timeout.
CLAIM_LEASE = timedelta(minutes=2)


def enqueue_event(
    session: Session,
    workspace_id: uuid.UUID,
    event_type: str,
    payload: dict[str, Any],
    *,
    text: str | None = None,
    event_id: uuid.UUID | None = None,
    now: datetime | None = None,
    subscriptions: list[Subscription] | None = None,
) -> list[NotificationDelivery]:
    """One pending delivery per active subscription of this workspace that wants ``event_type``
    (``subscriptions``: the workspace's active ones, when the caller has read them already)."""
    now = now or utcnow()
    if subscriptions is None:
        subscriptions = active_subscriptions(session, workspace_id)
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
    claimed = claim_due(
        engine,
        NotificationDelivery,
        col(NotificationDelivery.state) == DeliveryState.pending,
        now=now,
        lease=CLAIM_LEASE,
        limit=limit,
    )
    if not claimed:
        return 0
    with outbound_client(settings, client) as http:

        def attempt(session: Session, delivery: NotificationDelivery) -> None:
            _attempt(session, delivery, settings, http, now)

        attempt_each(engine, NotificationDelivery, claimed, attempt)
    return len(claimed)
