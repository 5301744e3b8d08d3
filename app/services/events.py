"""The append-only ItemEvent history: who changed what on an action item, when, from and to."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session

from app.db import utcnow
from app.models import ActionItem, EventSource, ItemEvent


def event_value(value: Any) -> str | None:
    """A field value as the event stores it: ISO dates, plain enum values, ``None`` kept."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def record_item_event(
    session: Session,
    item: ActionItem,
    kind: str,
    *,
    actor: str | None,
    source: EventSource = EventSource.api,
    field: str | None = None,
    from_value: Any = None,
    to_value: Any = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> ItemEvent:
    """Append one event; ``estimate_hours`` and ``status`` snapshot the item as it is now."""
    event = ItemEvent(
        id=uuid.uuid4(),  # given, not defaulted: SQLModel's default factories are slow
        workspace_id=item.workspace_id,
        item_id=item.id,
        goal_id=item.goal_id,
        kind=kind,
        source=source,
        actor=actor,
        field=field,
        from_value=event_value(from_value),
        to_value=event_value(to_value),
        estimate_hours=item.estimate_hours,
        status=item.status,
        data={"item_id": str(item.id), **(data or {})},
        at=at or utcnow(),
    )
    session.add(event)
    return event
