"""The goal hours ledger: what each ItemEvent changed in its goals' (total, done) hours.

Progress "a week ago" used to replay every item touched since then, snapshot by snapshot (tens of
thousands of items in a large plan). Instead, every event that carries a snapshot (status and
estimate right after it) writes, in the same flush, the difference between that snapshot and the
item's previous one as ledger rows: one row on the goal when the goal stayed, minus on the old goal
and plus on the new one when the item moved, minus everything on a ``deleted`` event. Only
non-zero changes are written (a move from todo to in progress changes no hours), so the ledger is
a fraction of the event table. Then, for any instant ``t``::

    hours(goal, t) = hours(goal, now) - SUM(ledger rows of the goal with at > t)

one range of the covering index ``ix_goal_hours_change_workspace_at`` (``app.services.progress``).

Contribution of a snapshot to its goal: ``total`` = estimate unless dropped, ``done`` = estimate
when done; a ``deleted`` event contributes nothing. The identity holds because the current row of
an item equals its latest snapshot (every writer records one after changing the row) and an item
without any snapshot event counts the same now and at ``t``, as in the replay.

The rows are written after each flush (``write_ledger``, called by
``app.services.item_history.keep_history_of_flush``, the ``after_flush`` hook that
``app.session_hooks`` installs), batched over the flush's events, so each place that adds an
``ItemEvent`` (the item-history functions, tests with hand-written histories) keeps the ledger
right without knowing of it. Events may be written out of time order (scripted histories
insert events with fixed ``at``): the new event is placed in the item's chain by ``at``, and the
event that follows it in the stored history gets a correction row so that its change is relative
to its new predecessor. Bulk loads that bypass the ORM (bench/rollups_seed.py) write the same rows
with ``ledger_changes``.

The same hook keeps ``action_item.last_event_at``, the time of the item's latest event of any
kind (``write_last_event_at``): the weekly review tests it instead of probing the events.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index, bindparam, insert, inspect, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Field, SQLModel, col

from app.db import UTCDateTime
from app.models.base import id_field
from app.models.planning import ActionItem, EventKind, ItemEvent, ItemStatus

CHUNK = 500  # items per look-up of their stored histories: few bound values per statement


class GoalHoursChange(SQLModel, table=True):
    """One event's change to one goal's hours (not dropped / done); see the module docstring."""

    __tablename__ = "goal_hours_change"
    __table_args__ = (
        # Covering: "hours per goal at t" reads this index range only, never a table row.
        Index(
            "ix_goal_hours_change_workspace_at",
            "workspace_id",
            "at",
            "goal_id",
            "total_hours",
            "done_hours",
        ),
    )

    id: uuid.UUID = id_field()
    # Scoped by the covering index above, which starts with the workspace: no separate index.
    workspace_id: uuid.UUID = Field(foreign_key="workspace.id", ondelete="CASCADE")
    # The goal's rows go with the goal; its items' events then name no goal (SET NULL).
    goal_id: uuid.UUID = Field(foreign_key="goal.id", ondelete="CASCADE")
    # Indexed for the cascade when events are deleted (a workspace's deletion).
    event_id: uuid.UUID = Field(foreign_key="item_event.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    total_hours: float
    done_hours: float


@dataclass(frozen=True)
class Snapshot:
    """What an event says about its item: goal, status and estimate right after it."""

    goal_id: uuid.UUID | None
    status: str | None
    estimate_hours: float | None
    kind: str

    def contribution(self) -> tuple[uuid.UUID, float, float] | None:
        """(goal, hours not dropped, hours done) the item adds to its goal, None for nothing."""
        if self.goal_id is None or self.kind == EventKind.deleted or self.status is None:
            return None
        if self.status == ItemStatus.dropped:
            return None
        hours = float(self.estimate_hours or 0.0)
        return self.goal_id, hours, hours if self.status == ItemStatus.done else 0.0


def ledger_changes(
    previous: Snapshot | None, current: Snapshot | None
) -> list[tuple[uuid.UUID, float, float]]:
    """The (goal, total, done) changes from ``previous`` to ``current``; empty when none."""
    before = previous.contribution() if previous else None
    after = current.contribution() if current else None
    if before is not None and after is not None and before[0] == after[0]:
        total, done = after[1] - before[1], after[2] - before[2]
        return [(after[0], total, done)] if total or done else []
    changes = []
    if before is not None and (before[1] or before[2]):
        changes.append((before[0], -before[1], -before[2]))
    if after is not None and (after[1] or after[2]):
        changes.append(after)
    return changes


def _status_value(status: str | None) -> str | None:
    return None if status is None else str(ItemStatus(status).value)


def _snapshot_of(item_event: ItemEvent) -> Snapshot:
    return Snapshot(
        item_event.goal_id,
        _status_value(item_event.status),
        item_event.estimate_hours,
        item_event.kind,
    )


@dataclass
class _Link:
    """One element of an item's chain of snapshot events, stored or being flushed."""

    event_id: uuid.UUID
    workspace_id: uuid.UUID
    at: datetime
    snapshot: Snapshot
    pending: bool


def _stored_histories(
    connection: Connection, item_ids: list[uuid.UUID], exclude: set[uuid.UUID]
) -> dict[uuid.UUID, list[_Link]]:
    """Per item, its stored snapshot events in time order (``exclude``: the ones being flushed).

    Two queries per ``CHUNK`` items, however many items a flush touches (deleting a goal or a
    plan appends an event to each of its items).
    """
    histories: dict[uuid.UUID, list[_Link]] = defaultdict(list)
    for start in range(0, len(item_ids), CHUNK):
        chunk = item_ids[start : start + CHUNK]
        # Two transactions appending to one item must not both take the same stored event as
        # the previous one: lock the items' rows first (PostgreSQL; in a fixed order, against
        # deadlocks), so the second reads the first's events once it commits. SQLite has one
        # writer at a time.
        connection.execute(
            select(col(ActionItem.id))
            .where(col(ActionItem.id).in_(chunk))
            .order_by(col(ActionItem.id))
            .with_for_update()
        )
        query = (
            select(
                col(ItemEvent.item_id),
                col(ItemEvent.id),
                col(ItemEvent.workspace_id),
                col(ItemEvent.at),
                col(ItemEvent.goal_id),
                col(ItemEvent.status),
                col(ItemEvent.estimate_hours),
                col(ItemEvent.kind),
            )
            .where(col(ItemEvent.item_id).in_(chunk), col(ItemEvent.status).is_not(None))
            .order_by(col(ItemEvent.item_id), col(ItemEvent.at))
        )
        for (
            item_id,
            event_id,
            workspace_id,
            at,
            goal_id,
            status,
            estimate,
            kind,
        ) in connection.execute(query):
            if item_id is not None and event_id not in exclude:
                snapshot = Snapshot(goal_id, _status_value(status), estimate, kind)
                histories[item_id].append(_Link(event_id, workspace_id, at, snapshot, False))
    return histories


def _changes_for_item(stored: list[_Link], new: list[_Link]) -> list[dict[str, Any]]:
    """Ledger rows for the new links, and corrections for stored links whose predecessor changed.

    ``new`` is in flush order; both lists are merged by ``at`` (a stored event before a new one at
    the same instant, new ones in the order they were added).
    """
    chain = sorted([*stored, *new], key=lambda link: (link.at, link.pending))
    rows: list[dict[str, Any]] = []

    def add(link: _Link, changes: list[tuple[uuid.UUID, float, float]]) -> None:
        rows.extend(
            {
                "id": uuid.uuid4(),
                "workspace_id": link.workspace_id,
                "goal_id": goal_id,
                "event_id": link.event_id,
                "at": link.at,
                "total_hours": total,
                "done_hours": done,
            }
            for goal_id, total, done in changes
        )

    old_previous: _Link | None = None
    previous: _Link | None = None
    for link in chain:
        if link.pending:
            add(link, ledger_changes(previous.snapshot if previous else None, link.snapshot))
        elif previous is not old_previous:
            # A new event now sits before this stored one: its stored change was relative to
            # ``old_previous``; shift it to be relative to ``previous``.
            add(
                link,
                ledger_changes(
                    previous.snapshot if previous else None,
                    old_previous.snapshot if old_previous else None,
                ),
            )
        if not link.pending:
            old_previous = link
        previous = link
    return rows


def write_last_event_at(session: OrmSession) -> None:
    """``action_item.last_event_at``: the latest ``at`` of the item's events, raised by the events
    of this flush (any kind; a back-dated event leaves a later time as it is). The item loaded in
    the session gets the value too, as committed (no write of its own)."""
    latest: dict[uuid.UUID, datetime] = {}
    for obj in session.new:
        if isinstance(obj, ItemEvent) and obj.item_id is not None:
            at = obj.at if obj.at.tzinfo is not None else obj.at.replace(tzinfo=UTC)
            if obj.item_id not in latest or at > latest[obj.item_id]:
                latest[obj.item_id] = at
    if not latest:
        return
    table = ActionItem.__table__  # type: ignore[attr-defined]
    column = table.c.last_event_at
    session.connection().execute(
        update(table)
        .where(
            table.c.id == bindparam("item", type_=table.c.id.type),
            or_(column.is_(None), column < bindparam("new_at", type_=UTCDateTime())),
        )
        .values(last_event_at=bindparam("new_at", type_=UTCDateTime())),
        [{"item": item_id, "new_at": at} for item_id, at in latest.items()],
    )
    for item_id, at in latest.items():
        item = session.identity_map.get(identity_key(ActionItem, item_id))
        if isinstance(item, ActionItem):
            known = item.__dict__.get("last_event_at")
            if known is not None and known.tzinfo is None:
                known = known.replace(tzinfo=UTC)
            if known is None or known < at:
                set_committed_value(item, "last_event_at", at)


def write_ledger(session: OrmSession) -> None:
    """The ledger rows of the events this flush inserted (and corrections of later stored ones)."""
    new_events = [
        obj
        for obj in session.new
        if isinstance(obj, ItemEvent) and obj.status is not None and obj.item_id is not None
    ]
    if not new_events:
        return
    by_item: dict[uuid.UUID, list[ItemEvent]] = defaultdict(list)
    for item_event in new_events:
        assert item_event.item_id is not None
        by_item[item_event.item_id].append(item_event)
    # The events are inserted by now (after_flush), so the stored histories leave them out.
    histories = _stored_histories(
        session.connection(), list(by_item), {item_event.id for item_event in new_events}
    )
    rows: list[dict[str, Any]] = []
    for item_id, events in by_item.items():
        events.sort(key=_insert_order)
        new = [_Link(e.id, e.workspace_id, e.at, _snapshot_of(e), pending=True) for e in events]
        since = min(link.at for link in new)
        history = histories.get(item_id, [])
        # The last stored event at or before the first new one, and every later stored event
        # (normally none: new events come after the stored ones).
        before = [link for link in history if link.at <= since]
        stored = before[-1:] + [link for link in history if link.at > since]
        rows.extend(_changes_for_item(stored, new))
    if rows:
        session.connection().execute(insert(GoalHoursChange), rows)


def _insert_order(obj: object) -> int:
    """The order in which the object was added to the session (kept by SQLAlchemy)."""
    return int(getattr(inspect(obj), "insert_order", 0) or 0)
