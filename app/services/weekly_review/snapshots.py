"""What an item was at a past instant, read from its history.

An item's state at an instant is its latest snapshot event at or before it (no snapshot: it did
not exist yet). Every writer records a snapshot event after changing an item's row, so an item
with no event after an instant is at that instant what its row says now: only the items touched
since (``sql.touched_since``) need their history read. The snapshot (goal, status, estimate) is
one correlated backward probe of the covering index ``ix_item_event_item_at_snapshot`` (item, at,
status, estimate, goal), skipped for items created after the instant.

Due dates are the exception: an item's due date at an instant is the old value of its first
``planning`` change of ``due_date`` after it (a partial index holds only those events). Tracker
drift events are not replayed: they record what the tracker shows, planbridge's due date did not
change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

from app.models import ActionItem, EventKind, ItemEvent
from app.models.execution import DUE_DATE_CHANGES
from app.services.weekly_review.sql import plain_rows, status_text, text_id

CHUNK = 2000  # item ids per probing query (SQLite allows 32,766 bound values; keeps plans small)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An item at an instant, from its latest snapshot event at or before it."""

    goal_id: str  # 32 hex digits
    status: str  # an ItemStatus value, as text
    estimate_hours: float
    # An event of any kind in the stale period before the instant; None where not asked.
    recent: bool | None


def latest_snapshot(column: Any, at: datetime) -> Any:
    """Correlated on ``action_item``: ``column`` of the item's latest snapshot at or before
    ``at`` (NULL: none by then)."""
    return (
        select(column)
        .where(
            col(ItemEvent.item_id) == col(ActionItem.id),
            col(ItemEvent.at) <= at,
            col(ItemEvent.status).is_not(None),
        )
        .order_by(col(ItemEvent.at).desc())
        .limit(1)
        .correlate(ActionItem)
        .scalar_subquery()
    )


class _SnapshotArray(FunctionElement[Any]):
    """A snapshot's goal, status and estimate as one JSON array (decoded by the driver into a
    list), so that one backward probe of the covering index reads all three: a probe per column
    cost ~8 us each for the ~19,000 items touched since a past week."""

    type = JSON()
    inherit_cache = True
    name = "snapshot_array"


@compiles(_SnapshotArray, "sqlite")
def _snapshot_array_sqlite(element: _SnapshotArray, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array({compiler.process(element.clauses, **kw)})"


@compiles(_SnapshotArray, "postgresql")
def _snapshot_array_postgresql(element: _SnapshotArray, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_build_array({compiler.process(element.clauses, **kw)})"


def snapshot_columns(at: datetime, recent_from: datetime | None = None) -> tuple[Any, Any]:
    """Correlated on ``action_item``: the item's latest snapshot at or before ``at`` as a JSON
    array [goal, status, estimate] (NULL: none by then, or created after ``at``), and whether it
    had an event of any kind in [``recent_from``, ``at``] (NULL without ``recent_from``). The
    recency test is made in SQL: a timestamp read and converted per row in Python cost more than
    the probe. ``snapshot_of`` reads the two."""
    existed = col(ActionItem.created_at) <= at
    snapshot = _SnapshotArray(
        text_id(ItemEvent.goal_id), status_text(ItemEvent.status), col(ItemEvent.estimate_hours)
    )
    recent: Any = literal(None)
    if recent_from is not None:
        any_event = (
            select(literal(1))
            .where(
                col(ItemEvent.item_id) == col(ActionItem.id),
                col(ItemEvent.at) <= at,
                col(ItemEvent.at) >= recent_from,
            )
            .limit(1)
            .correlate(ActionItem)
            .scalar_subquery()
        )
        recent = case((existed, func.coalesce(any_event, 0)))
    return case((existed, latest_snapshot(snapshot, at))), recent


def snapshot_of(
    snapshot: tuple[str, str, float | None] | None, recent: int | None
) -> Snapshot | None:
    """The ``snapshot_columns`` of a row as a snapshot (None: no snapshot by then)."""
    if snapshot is None:
        return None
    goal_id, status, estimate = snapshot
    return Snapshot(
        goal_id, status, float(estimate or 0.0), None if recent is None else bool(recent)
    )


def anything_after(session: Session, workspace_id: uuid.UUID, at: datetime) -> bool:
    """Whether the workspace has an item event after ``at`` (one look at the (workspace, at)
    index): not while the week runs."""
    first = select(literal(1)).where(
        col(ItemEvent.workspace_id) == workspace_id,
        col(ItemEvent.at) > at,
        col(ItemEvent.item_id).is_not(None),
    )
    return session.scalar(first.limit(1)) is not None


class SnapshotsAt:
    """Items' snapshots at one instant (keyed by ``text_id``), remembered: the review's lists and
    its planned hours ask for mostly the same items, and the lists' own query brings them."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.session, self.at = session, at
        self._known: dict[str, Snapshot | None] = {}
        self._anything: dict[uuid.UUID, bool] = {}

    def anything_after(self, workspace_id: uuid.UUID) -> bool:
        """``anything_after`` the instant, asked once per workspace."""
        if workspace_id not in self._anything:
            self._anything[workspace_id] = anything_after(self.session, workspace_id, self.at)
        return self._anything[workspace_id]

    def remember(self, item_id: str, snapshot: Snapshot | None) -> None:
        self._known[item_id] = snapshot

    def of(self, item_ids: list[str]) -> dict[str, Snapshot]:
        """The snapshots of those items that had one by the instant."""
        missing = [uuid.UUID(hex=item_id) for item_id in item_ids if item_id not in self._known]
        for index in range(0, len(missing), CHUNK):
            rows = plain_rows(
                self.session,
                select(text_id(ActionItem.id), *snapshot_columns(self.at)).where(
                    col(ActionItem.id).in_(missing[index : index + CHUNK])
                ),
            )
            for item_id, snapshot, recent in rows:
                self._known[item_id] = snapshot_of(snapshot, recent)
        found = {item_id: self._known.get(item_id) for item_id in item_ids}
        return {item_id: snapshot for item_id, snapshot in found.items() if snapshot is not None}


def due_dates_at(session: Session, workspace_id: uuid.UUID, at: datetime) -> dict[str, date]:
    """Items whose due date changed after ``at``: their due date at ``at`` (the old value of the
    first change). Others had their current due date."""
    rows = session.execute(
        select(text_id(ItemEvent.item_id), col(ItemEvent.from_value))
        .where(
            col(ItemEvent.workspace_id) == workspace_id,
            col(ItemEvent.at) > at,
            DUE_DATE_CHANGES,  # as the partial index's predicate, so the index is used
            col(ItemEvent.kind) == EventKind.planning,
            col(ItemEvent.item_id).is_not(None),
        )
        .order_by(col(ItemEvent.at))
    )
    due: dict[str, date] = {}
    for item_id, old in rows:
        if item_id not in due and old:
            due[item_id] = date.fromisoformat(old[:10])
    return due
