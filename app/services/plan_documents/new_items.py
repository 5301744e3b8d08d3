"""Create a plan document's new items in bulk: the rows ``items.create_items`` and the session
hooks would write, inserted as plain rows.

A new plan has thousands of items. Through the ORM each costs an ``ActionItem`` and an
``ItemEvent`` object (SQLModel's instrumented ``__setattr__`` per field) and their flush with the
history hooks, which was two thirds of a 2,000-item apply (cProfile: 5.5 of 8.2 s in
``create_items``, load 13). Here the same rows are built as dicts and inserted with one
executemany per table, and what the hooks of ``app.session_hooks`` would add for a brand-new item
is written with them:

- the load columns (``keep_item_load``): ``item_load`` of its start (or creation day), due date
  and estimate;
- ``last_event_at`` (``write_last_event_at``): the time of its ``created`` event, its creation;
- the goal hours ledger (``write_ledger``): a new item has no stored history, so its ``created``
  event's rows are ``ledger_changes(None, snapshot)``;
- stored weekly reviews (``drop_outdated_reviews``): a ``created`` event outdates the stored weeks
  of its workspace that end after it.

A ``created`` event is no status change, so it queues no notification. tests/plan_documents/
test_new_items.py compares every row with what ``items.create_items`` writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col

from app.db import utcnow
from app.errors import InvalidField
from app.models import ActionItem, EventSource, ItemEvent, ItemStatus
from app.models.execution import FrozenGoalReview, FrozenPlannedWeek
from app.models.hours_ledger import GoalHoursChange, Snapshot, ledger_changes
from app.schemas.common import RuleWarning
from app.services.item_history import event_value
from app.services.item_rules import check_items
from app.services.items import creation_time
from app.services.spread import item_load
from app.settings import Settings

ITEM_COLUMNS = [column.name for column in ActionItem.__table__.columns]  # type: ignore[attr-defined]
# The model's defaults of the columns a document may leave out, read once: all plain values (the
# ids and times, the only default factories, are given to each row).
_DEFAULTS = {
    name: field.default
    for name, field in ActionItem.model_fields.items()
    if name in ITEM_COLUMNS and not field.is_required() and field.default_factory is None
}


def _item_rows(
    workspace_id: uuid.UUID, values_of_items: Sequence[dict[str, Any]], start: datetime
) -> list[dict[str, Any]]:
    """The items' rows, with the load columns and ``last_event_at`` the hooks would write."""
    rows: list[dict[str, Any]] = []
    for index, values in enumerate(values_of_items):
        now = creation_time(start, index)
        given = {
            **_DEFAULTS,
            "id": uuid.uuid4(),
            "workspace_id": workspace_id,
            "created_at": now,
            "updated_at": now,
            "last_activity_at": now,
            "last_event_at": now,
            **values,
        }
        row = {name: given[name] for name in ITEM_COLUMNS}
        row["done_at"] = now if row["status"] == ItemStatus.done else None
        row["load_from"], row["load_to"], row["load_per_day"] = item_load(
            row["start_date"] or now.astimezone(UTC).date(),
            row["due_date"],
            float(row["estimate_hours"]),
        )
        rows.append(row)
    return rows


def _history_rows(
    workspace_id: uuid.UUID, created: Sequence[ActionItem], actor: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each item's ``created`` event, and the goal hours ledger rows of those events."""
    events: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    for item in created:
        event_id = uuid.uuid4()
        events.append(
            {
                "id": event_id,
                "workspace_id": workspace_id,
                "item_id": item.id,
                "goal_id": item.goal_id,
                "kind": "created",
                "source": EventSource.api,
                "actor": actor,
                "field": None,
                "from_value": None,
                "to_value": event_value(item.title),
                "estimate_hours": item.estimate_hours,
                "status": item.status,
                "data": {"item_id": str(item.id)},
                "at": item.created_at,
            }
        )
        status = str(ItemStatus(item.status).value)
        snapshot = Snapshot(item.goal_id, status, item.estimate_hours, "created")
        ledger.extend(
            {
                "id": uuid.uuid4(),
                "workspace_id": workspace_id,
                "goal_id": goal_id,
                "event_id": event_id,
                "at": item.created_at,
                "total_hours": total,
                "done_hours": done,
            }
            for goal_id, total, done in ledger_changes(None, snapshot)
        )
    return events, ledger


def create_new_items(
    session: Session,
    workspace_id: uuid.UUID,
    values_of_items: Sequence[dict[str, Any]],
    *,
    actor: str,
    settings: Settings,
) -> list[tuple[ActionItem, list[RuleWarning] | InvalidField]]:
    """Insert the items, their ``created`` events and what those change; each item (a detached
    ``ActionItem`` holding its values) with its rules' warnings or the error of a rule it breaks
    (the caller then rolls back). The goals, owners and connections named are the workspace's
    (the document's references are resolved in it)."""
    if not values_of_items:
        return []
    start = utcnow()
    rows = _item_rows(workspace_id, values_of_items, start)
    session.flush()  # the goals and people the items name are rows before the items are
    # Core inserts on the connection: the ORM's bulk insert would sort each row's keys again
    # (a third of the insert time, cProfile).
    connection = session.connection()
    connection.execute(insert(ActionItem), rows)
    created = [ActionItem.model_construct(**row) for row in rows]
    # The rules read the inserted items (an owner's load counts the new items too).
    outcomes = check_items(session, created, settings)
    events, ledger = _history_rows(workspace_id, created, actor)
    connection.execute(insert(ItemEvent), events)
    if ledger:
        connection.execute(insert(GoalHoursChange), ledger)
    for table in (FrozenGoalReview, FrozenPlannedWeek):
        connection.execute(
            delete(table).where(
                col(table.workspace_id) == workspace_id, col(table.week_end) > start
            )
        )
    return list(zip(created, outcomes, strict=True))
