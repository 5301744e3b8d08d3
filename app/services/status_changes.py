"""What an item's status change sets off beyond its own history, decided when the change is
recorded (``app.services.item_history.record_event`` calls ``announce_status_change``).

- ``item.status_changed`` is enqueued to the workspace's subscribers, in the writer's transaction,
  so the outbox row and the change commit (or roll back) together; the worker sends it.
- When someone listens to ``goal.health_changed``, the item's goal is noted for a health check
  (``app.services.health_changes.ask_for_health_check``); the worker compares and publishes.

Both read the workspace's active subscriptions once, without flushing the writer's pending rows
(a webhook batch flushes its many events at once, which keeps it fast).
"""

from __future__ import annotations

from sqlmodel import Session

from app.models import ActionItem, ItemEvent
from app.services.health_changes import EVENT_TYPE as HEALTH_CHANGED
from app.services.health_changes import ask_for_health_check
from app.services.notifications import enqueue_event
from app.services.subscriptions import active_subscriptions


def announce_status_change(session: Session, event: ItemEvent) -> None:
    """For a new ``status`` event about an item: the notification and the goal's health check."""
    with session.no_autoflush:
        subscriptions = active_subscriptions(session, event.workspace_id)
        if not subscriptions:
            return
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
            subscriptions=subscriptions,
        )
        if event.goal_id is not None and any(
            HEALTH_CHANGED in each.event_types for each in subscriptions
        ):
            ask_for_health_check(session, event.workspace_id, event.goal_id, event.at)
