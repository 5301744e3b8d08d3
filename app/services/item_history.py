"""An item's history: every ``item_event`` row is built here, and what an event sets off is
decided here.

``record_item_event`` appends an event for a change made through the API or a plan document (the
item's estimate and status snapshotted as they are now); ``record_event`` appends one for what the
engine learned or did (a tracker's status or drift, a push, a move, a deletion proved in the
tracker, a review posted on a goal), with the snapshot it knows or none. A ``status`` event is
announced as it is recorded (``app.services.status_changes``: the ``item.status_changed``
notification, and a health check of the goal for the worker), in the writer's transaction.

What the events change in other rows is kept once per flush, batched over every event of the
flush, which is what keeps a webhook batch or a plan import fast (``keep_history_of_flush``): the
goal hours ledger and the items' ``last_event_at`` (``app.models.hours_ledger``), then the stored
weekly reviews the events make outdated (``app.services.reviews.drop_outdated_reviews``, which
also drops those a person's new weekly hours outdate). An item's load columns follow its start,
due date and estimate on every ORM write (``keep_item_load``). Both run as ORM hooks, installed
by ``app.session_hooks`` (which says why), so that hand-written histories (tests, scripts) keep
them too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, UOWTransaction
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from app.db import utcnow
from app.models import ActionItem, EventKind, EventSource, ItemEvent, ItemStatus
from app.models.hours_ledger import write_last_event_at, write_ledger
from app.services.reviews import drop_outdated_reviews
from app.services.spread import item_load
from app.services.status_changes import announce_status_change


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


@dataclass(frozen=True)
class EventSubject:
    """What an event is about, and the snapshot it carries (none: a ``sync`` or goal event)."""

    workspace_id: uuid.UUID
    item_id: uuid.UUID | None = None
    goal_id: uuid.UUID | None = None
    estimate_hours: float | None = None
    status: ItemStatus | None = None

    @classmethod
    def snapshot_of(cls, item: ActionItem, status: ItemStatus | None = None) -> EventSubject:
        """The item with its estimate and status (or ``status``, about to be set) right now."""
        return cls(
            item.workspace_id, item.id, item.goal_id, item.estimate_hours, status or item.status
        )


def record_event(
    session: Session,
    subject: EventSubject,
    kind: EventKind,
    *,
    source: EventSource,
    actor: str | None = None,
    field: str | None = None,
    from_value: Any = None,
    to_value: Any = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> ItemEvent:
    """Append one event about ``subject`` to the session."""
    event = ItemEvent(
        id=uuid.uuid4(),  # given, not defaulted: SQLModel's default factories are slow
        workspace_id=subject.workspace_id,
        item_id=subject.item_id,
        goal_id=subject.goal_id,
        kind=kind,
        source=source,
        actor=actor,
        field=field,
        from_value=event_value(from_value),
        to_value=event_value(to_value),
        estimate_hours=subject.estimate_hours,
        status=subject.status,
        data=data or {},
        at=at or utcnow(),
    )
    session.add(event)
    if kind == EventKind.status and subject.item_id is not None:
        announce_status_change(session, event)
    return event


def record_item_event(
    session: Session,
    item: ActionItem,
    kind: EventKind,
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
    return record_event(
        session,
        EventSubject.snapshot_of(item),
        kind,
        source=source,
        actor=actor,
        field=field,
        from_value=from_value,
        to_value=to_value,
        data={"item_id": str(item.id), **(data or {})},
        at=at,
    )


def keep_history_of_flush(session: OrmSession, context: UOWTransaction) -> None:
    """After each flush, for the events it inserted, in one batch: the items' ``last_event_at``
    and the goal hours ledger rows, then the stored weekly reviews they outdate (in this order:
    the reviews read the ledger)."""
    write_last_event_at(session)
    write_ledger(session)
    drop_outdated_reviews(session, context)


def keep_item_load(_mapper: Mapper[Any], _connection: Connection, item: ActionItem) -> None:
    """Every ORM write of an item keeps its load columns in step with start, due and estimate
    (writers that bypass the ORM, like the benchmark seeder, call ``item_load`` themselves)."""
    start = item.start_date or item.created_at.astimezone(UTC).date()
    item.load_from, item.load_to, item.load_per_day = item_load(
        start, item.due_date, float(item.estimate_hours)
    )
