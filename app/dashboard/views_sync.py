"""What the Connections page shows: each connection's pull, lag, errors, rate limit and webhooks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import Connection, ExternalLink, WebhookDelivery


@dataclass
class ConnectionRow:
    connection: Connection
    lag_seconds: float | None
    linked_items: int
    failing_links: int
    dead_links: int
    deliveries_seen: int
    deliveries_pending: int
    last_delivery_at: datetime | None

    @property
    def state_text(self) -> str:
        if self.connection.state == "paused":
            return "paused"
        if self.connection.last_error or self.dead_links:
            return "failing"
        if self.connection.last_pull_ok_at is None:
            return "never pulled"
        return "healthy"

    @property
    def rate_limit_text(self) -> str:
        remaining, limit = self.connection.rate_limit_remaining, self.connection.rate_limit_limit
        if remaining is None:
            return "not reported"
        return f"{remaining} of {limit}" if limit else str(remaining)


def _counts_by_connection(
    db: Session, workspace_id: uuid.UUID, *conditions: object
) -> dict[uuid.UUID, int]:
    query = (
        select(ExternalLink.connection_id, func.count())
        .where(ExternalLink.workspace_id == workspace_id, *conditions)  # type: ignore[arg-type]
        .group_by(col(ExternalLink.connection_id))
    )
    return {connection_id: int(count) for connection_id, count in db.exec(query).all()}


def connections_overview(db: Session, workspace_id: uuid.UUID) -> list[ConnectionRow]:
    now = utcnow()
    connections = db.exec(
        select(Connection)
        .where(Connection.workspace_id == workspace_id)
        .order_by(col(Connection.name))
    ).all()
    linked = _counts_by_connection(db, workspace_id)
    failing = _counts_by_connection(db, workspace_id, col(ExternalLink.last_error).is_not(None))
    dead = _counts_by_connection(db, workspace_id, col(ExternalLink.dead).is_(True))
    deliveries: dict[uuid.UUID, tuple[int, int, datetime | None]] = {}
    for connection_id, seen, pending, last_at in db.exec(
        select(
            WebhookDelivery.connection_id,
            func.count(),
            func.count(col(WebhookDelivery.id)).filter(col(WebhookDelivery.processed_at).is_(None)),
            func.max(WebhookDelivery.received_at),
        )
        .where(WebhookDelivery.workspace_id == workspace_id)
        .group_by(col(WebhookDelivery.connection_id))
    ).all():
        deliveries[connection_id] = (int(seen), int(pending), last_at)
    rows = []
    for connection in connections:
        seen, pending, last_delivery = deliveries.get(connection.id, (0, 0, None))
        last_ok = connection.last_pull_ok_at
        rows.append(
            ConnectionRow(
                connection=connection,
                lag_seconds=(now - last_ok).total_seconds() if last_ok else None,
                linked_items=linked.get(connection.id, 0),
                failing_links=failing.get(connection.id, 0),
                dead_links=dead.get(connection.id, 0),
                deliveries_seen=seen,
                deliveries_pending=pending,
                last_delivery_at=last_delivery,
            )
        )
    return rows
