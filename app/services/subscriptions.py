"""Subscriptions to outbound notifications: create, list, delete, rotate the secret, and read a
subscription's delivery log.

A subscription is a URL of the workspace's choosing (guarded like a connection's base URL) with the
event types it wants and a secret that signs every request (``app.services.notification_signing``).
The secret is given or generated, stored encrypted and shown once. What is sent, and when, is the
outbox's (``app.services.notifications``).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.crypto import encrypt_text
from app.db import utcnow
from app.errors import InvalidField
from app.models.execution import NotificationDelivery, Subscription
from app.schemas.execution import SecretRotation, SubscriptionCreate
from app.security.urls import check_base_url
from app.services.pagination import PageSlice, creation_order, paginate
from app.services.tenancy import get_in_workspace
from app.settings import Settings


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
        creation_order(Subscription),
        limit=limit,
        offset=offset,
    )


def active_subscriptions(session: Session, workspace_id: uuid.UUID) -> list[Subscription]:
    """The workspace's active subscriptions, whatever event types they want."""
    return list(
        session.exec(
            select(Subscription).where(
                col(Subscription.workspace_id) == workspace_id, col(Subscription.active).is_(True)
            )
        ).all()
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


def list_deliveries(
    session: Session,
    workspace_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
) -> PageSlice[NotificationDelivery]:
    """The subscription's delivery log, newest first."""
    subscription = get_subscription(session, workspace_id, subscription_id)
    statement = select(NotificationDelivery).where(
        col(NotificationDelivery.workspace_id) == workspace_id,
        col(NotificationDelivery.subscription_id) == subscription.id,
    )
    order = [col(NotificationDelivery.created_at).desc(), col(NotificationDelivery.id)]
    return paginate(session, statement, order, limit=limit, offset=offset)
