"""How the sync stands, for the API and the dashboard alike: connection health, dead links and
dead webhook deliveries.

Both web layers call these functions, so a figure on the Connections page is by construction the
one ``GET /api/v1/connections/{id}/health`` answers. Nothing here calls a tracker: a dead link's
retry only clears its mark, and the engine's next pass pushes it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from app.db import utcnow
from app.errors import NotFound
from app.models import Connection, ConnectionWrite, ExternalLink, WebhookDelivery
from app.models.sync import DEAD_DELIVERY, PENDING_DELIVERY, needs_push, owner_revision
from app.schemas.connections import ConnectionHealth
from app.services.connections import connector_settings, count_links, get_connection
from app.services.pagination import PageSlice, creation_order, paginate
from app.settings import Settings
from connectors.base import ConnectorError, RateWindow
from connectors.registry import build_connector


def _write_limits(settings: Settings, connection: Connection) -> tuple[RateWindow, ...]:
    """The tracker's documented write windows (a class attribute; nothing is sent)."""
    try:
        connector = build_connector(connection.kind, connector_settings(settings, connection))
    except (ConnectorError, ValueError):
        return ()
    try:
        return tuple(connector.write_limits)
    finally:
        connector.close()


def _write_windows(
    session: Session, connection_id: uuid.UUID, limits: Sequence[RateWindow], now: datetime
) -> list[dict[str, float | int]]:
    """Per window: the limit, writes used by all workers (the pacing log), and writes left."""
    rows: list[dict[str, float | int]] = []
    for window in limits:
        used = session.exec(
            select(func.count())
            .select_from(ConnectionWrite)
            .where(
                col(ConnectionWrite.connection_id) == connection_id,
                col(ConnectionWrite.at) > now - timedelta(seconds=window.seconds),
            )
        ).one()
        rows.append(
            {
                "requests": window.requests,
                "seconds": window.seconds,
                "used": used,
                "remaining": max(0, window.requests - used),
            }
        )
    return rows


def _deliveries(session: Session, connection_id: uuid.UUID, *conditions: Any) -> int:
    statement = (
        select(func.count())
        .select_from(WebhookDelivery)
        .where(col(WebhookDelivery.connection_id) == connection_id, *conditions)
    )
    return int(session.exec(statement).one())


def connection_health(
    session: Session,
    settings: Settings,
    workspace_id: uuid.UUID,
    connection_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> ConnectionHealth:
    """Last pull, lag, errors, rate-limit headroom, webhook deliveries and the push queue."""
    connection = get_connection(session, workspace_id, connection_id)
    now = now or utcnow()
    last_ok = connection.last_pull_ok_at
    return ConnectionHealth(
        connection_id=connection.id,
        state=connection.state,
        paused_reason=connection.paused_reason,
        last_pull_at=connection.last_pull_at,
        last_pull_ok_at=last_ok,
        lag_seconds=(now - last_ok).total_seconds() if last_ok else None,
        last_error=connection.last_error,
        consecutive_failures=connection.consecutive_failures,
        backoff_until=connection.backoff_until,
        rate_limit={
            "limit": connection.rate_limit_limit,
            "remaining": connection.rate_limit_remaining,
            "reset_at": connection.rate_limit_reset_at,
        },
        write_windows=_write_windows(
            session, connection.id, _write_limits(settings, connection), now
        ),
        webhook_deliveries_seen=_deliveries(session, connection.id),
        webhook_deliveries_pending=_deliveries(session, connection.id, PENDING_DELIVERY),
        webhook_deliveries_failing=_deliveries(
            session,
            connection.id,
            PENDING_DELIVERY,
            col(WebhookDelivery.attempts) > 0,
        ),
        webhook_deliveries_dead=_deliveries(
            session,
            connection.id,
            col(WebhookDelivery.workspace_id) == connection.workspace_id,
            DEAD_DELIVERY,
        ),
        pending_pushes=count_links(session, connection.id, needs_push(owner_revision())),
        failing_pushes=count_links(
            session,
            connection.id,
            col(ExternalLink.dead).is_(False),
            col(ExternalLink.attempts) > 0,
        ),
        dead_pushes=count_links(session, connection.id, col(ExternalLink.dead).is_(True)),
    )


def list_dead_links(
    session: Session, workspace_id: uuid.UUID, *, limit: int, offset: int
) -> PageSlice[ExternalLink]:
    """Items and goal mirrors whose push failed too often, oldest first."""
    statement = select(ExternalLink).where(
        col(ExternalLink.workspace_id) == workspace_id, col(ExternalLink.dead).is_(True)
    )
    return paginate(
        session,
        statement,
        creation_order(ExternalLink),
        limit=limit,
        offset=offset,
    )


def retry_dead_link(session: Session, workspace_id: uuid.UUID, link_id: uuid.UUID) -> ExternalLink:
    """Queue a dead link for a fresh attempt (attempts reset); NotFound unless dead and ours.

    The caller commits (request or dashboard action); the engine's next pass pushes the link.
    """
    link = session.exec(
        select(ExternalLink).where(
            col(ExternalLink.id) == link_id,
            col(ExternalLink.workspace_id) == workspace_id,
            col(ExternalLink.dead).is_(True),
        )
    ).first()
    if link is None:
        raise NotFound(f"No dead sync link with id {link_id} in this workspace.")
    link.dead = False
    link.attempts = 0
    link.next_attempt_at = None
    session.add(link)
    return link


def list_dead_deliveries(
    session: Session, workspace_id: uuid.UUID, *, limit: int, offset: int
) -> PageSlice[WebhookDelivery]:
    """Webhook deliveries the engine gave up on, oldest first, with their last error."""
    statement = select(WebhookDelivery).where(
        col(WebhookDelivery.workspace_id) == workspace_id, DEAD_DELIVERY
    )
    return paginate(
        session,
        statement,
        [col(WebhookDelivery.received_at), col(WebhookDelivery.id)],
        limit=limit,
        offset=offset,
    )


def retry_dead_delivery(
    session: Session, workspace_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Queue a dead delivery for a fresh round of attempts; NotFound unless dead and ours.

    The caller commits; the engine claims it again (the last error stays until an attempt
    succeeds or fails anew).
    """
    delivery = session.exec(
        select(WebhookDelivery).where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.workspace_id) == workspace_id,
            DEAD_DELIVERY,
        )
    ).first()
    if delivery is None:
        raise NotFound(f"No dead webhook delivery with id {delivery_id} in this workspace.")
    delivery.dead = False
    delivery.attempts = 0
    delivery.processed_at = None
    delivery.outcome = None
    delivery.leased_by = None
    delivery.lease_until = None
    session.add(delivery)
    return delivery
