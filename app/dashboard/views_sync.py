"""What the Connections page shows: each connection's pull, lag, errors, rate limit and webhooks.

The figures are exactly the API's ``GET /connections/{id}/health`` answer: both call the same
service function.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.dashboard.auth import Viewer
from app.models import Connection
from app.schemas.connections import ConnectionHealth
from app.services.sync_status import connection_health
from app.settings import Settings


@dataclass
class ConnectionRow:
    connection: Connection
    health: ConnectionHealth

    @property
    def state_text(self) -> str:
        if self.health.state == "paused":
            return "paused"
        if self.health.last_error or self.health.dead_pushes or self.health.failing_pushes:
            return "failing"
        if self.health.last_pull_ok_at is None:
            return "never pulled"
        return "healthy"

    @property
    def rate_limit_text(self) -> str:
        remaining = self.health.rate_limit.get("remaining")
        limit = self.health.rate_limit.get("limit")
        if remaining is None:
            return "not reported"
        return f"{remaining} of {limit}" if limit else str(remaining)


def connections_overview(db: Session, settings: Settings, viewer: Viewer) -> list[ConnectionRow]:
    connections = db.exec(
        select(Connection)
        .where(Connection.workspace_id == viewer.workspace_id)
        .order_by(col(Connection.name))
    ).all()
    return [
        ConnectionRow(
            connection, connection_health(db, settings, viewer.workspace_id, connection.id)
        )
        for connection in connections
    ]
