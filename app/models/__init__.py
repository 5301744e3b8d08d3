"""All tables, imported here so metadata (and Alembic) sees every one of them."""

from app.models.dashboard import DashboardSession, ShareLink
from app.models.planning import (
    ActionItem,
    EventSource,
    Goal,
    ItemEvent,
    ItemStatus,
    Person,
    Plan,
)
from app.models.sync import Connection, ConnectionWrite, ExternalLink, WebhookDelivery
from app.models.tenancy import ApiToken, Scope, Workspace

__all__ = [
    "ActionItem",
    "ApiToken",
    "Connection",
    "ConnectionWrite",
    "DashboardSession",
    "EventSource",
    "ExternalLink",
    "Goal",
    "ItemEvent",
    "ItemStatus",
    "Person",
    "Plan",
    "Scope",
    "ShareLink",
    "WebhookDelivery",
    "Workspace",
]
