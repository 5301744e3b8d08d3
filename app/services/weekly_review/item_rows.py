"""The rows the weekly review's lists are built from: the plan's items that can land in a list,
read as typed rows, with what history says of them at the week's start S and its cut T.

The work is split by what can differ from the current rows (``snapshots``):

- items touched since T (none while the week runs; for a past week, those with an event after
  it) come with their snapshot at T, read in the query that finds them;
- items with an event in (S, T] come with their status at S (one probe each) and whether they
  went in progress in the week;
- items open now, untouched since T and in an open-work list (overdue, stale, due next week) are
  their own state at T: filtered in SQL, staleness included (a test of ``last_event_at``).

Membership: the items of the plan are those whose goal is now one of its goals; each is listed
under the goal it was in at T (``lists``). Items created after T are in no list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, literal, or_, select, true
from sqlmodel import Session, col

from app.models import ActionItem, ItemEvent, ItemStatus, Person
from app.schemas.weeks import IsoWeek
from app.services.item_rules import OPEN_STATUSES
from app.services.staleness import stale_condition
from app.services.weekly_review.snapshots import (
    Snapshot,
    SnapshotsAt,
    due_dates_at,
    latest_snapshot,
    snapshot_columns,
    snapshot_of,
)
from app.services.weekly_review.sql import (
    plain_rows,
    status_text,
    text_id,
    touched_since,
    untouched_since,
)

# The columns of an item's row as it is now (ids as 32 hex digits, the status as text), which
# ``WeekItem`` and ``OpenItem`` begin with.
_ITEM_COLUMNS = (
    text_id(ActionItem.id),
    col(ActionItem.title),
    text_id(ActionItem.owner_id),
    text_id(ActionItem.goal_id),
    status_text(ActionItem.status),
    col(ActionItem.due_date),
    col(ActionItem.estimate_hours),
)


class TouchedItem(NamedTuple):
    """An item touched since the cut: what its row says now, and its snapshot at the cut."""

    item_id: str
    title: str
    owner_id: str
    due_date: date
    start_date: date | None
    at_cut: Snapshot | None  # None: no snapshot by then (created after it)


# The rows are flat, one object each (not an item row inside another tuple): a large plan's
# review reads tens of thousands, each one more for the cyclic garbage collector to walk.
class WeekItem(NamedTuple):
    """An item with an event in the week (or, in a week not begun, done or blocked now): its row
    now, its status at the week's start and whether it went in progress in the week."""

    item_id: str
    title: str
    owner_id: str
    goal_id: str
    status: str
    due_date: date
    estimate_hours: float | None
    status_at_start: str | None = None  # None: it did not exist then (or the week not begun)
    went_in_progress: int | None = None  # 1 if it did, else None


class OpenItem(NamedTuple):
    """An item open now, untouched since the cut and in an open-work list: its row is its state
    at the cut."""

    item_id: str
    title: str
    owner_id: str
    goal_id: str
    status: str
    due_date: date
    estimate_hours: float | None
    stale: bool  # 0 or 1 on SQLite


@dataclass(frozen=True)
class ItemRows:
    """Everything the lists need of a plan's items, for one week and cut."""

    touched: list[TouchedItem]
    in_week: list[WeekItem]
    open_untouched: list[OpenItem]
    # Due dates at the cut of the items whose due date changed since (read when any item is
    # touched since the cut).
    due_at_cut: dict[str, date]
    # The people's declared weekly hours (staleness of the items touched since), by text id.
    weekly_hours: dict[str, float | None]


def read_item_rows(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    week: IsoWeek,
    stale_after: datetime,
    snapshots: SnapshotsAt,
) -> ItemRows:
    """The rows of the plan's items (the goals ``goal_ids``) for ``week`` at the cut of
    ``snapshots``; no activity since ``stale_after`` is quiet. The touched items' snapshots are
    remembered in ``snapshots`` (the planned hours ask for them again)."""
    cut = snapshots.at
    # While the week runs nothing is touched since the cut: one look at the (workspace, at) index
    # says so, and the per-item "untouched since" test is left out.
    anything_since = snapshots.anything_after(workspace_id)
    touched = (
        touched_items(session, workspace_id, goal_ids, cut, stale_after) if anything_since else []
    )
    for item in touched:
        snapshots.remember(item.item_id, item.at_cut)
    moved = any(item.at_cut is not None for item in touched)
    return ItemRows(
        touched=touched,
        in_week=week_items(session, workspace_id, goal_ids, week.start_utc, cut),
        open_untouched=open_items(
            session, workspace_id, goal_ids, week, cut, stale_after, anything_since=anything_since
        ),
        due_at_cut=due_dates_at(session, workspace_id, cut) if touched else {},
        weekly_hours=weekly_hours(session, workspace_id) if moved else {},
    )


def _in_plan(workspace_id: uuid.UUID, goal_ids: list[uuid.UUID], cut: datetime) -> tuple[Any, ...]:
    """The plan's items that existed at the cut (created after it: in no list)."""
    return (
        col(ActionItem.workspace_id) == workspace_id,
        col(ActionItem.goal_id).in_(goal_ids),
        col(ActionItem.created_at) <= cut,
    )


def touched_items(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    cut: datetime,
    stale_after: datetime,
) -> list[TouchedItem]:
    """The plan's items existing at the cut with an event after it, with their snapshot at it."""
    rows = plain_rows(
        session,
        select(
            text_id(ActionItem.id),
            col(ActionItem.title),
            text_id(ActionItem.owner_id),
            col(ActionItem.due_date),
            col(ActionItem.start_date),
            *snapshot_columns(cut, stale_after),
        ).where(*_in_plan(workspace_id, goal_ids, cut), touched_since(cut)),
    )
    return [
        TouchedItem(item_id, title, owner_id, due, start, snapshot_of(snapshot, recent))
        for item_id, title, owner_id, due, start, snapshot, recent in rows
    ]


def week_items(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    start: datetime,
    cut: datetime,
) -> list[WeekItem]:
    """The plan's items with an event in (``start``, ``cut``], with their status at ``start``
    and whether they went in progress. While ``start`` is not before the cut (a week just
    begun), every item was absent at S: the items done or blocked now."""
    if start >= cut:
        rows = plain_rows(
            session,
            select(*_ITEM_COLUMNS).where(
                *_in_plan(workspace_id, goal_ids, cut),
                col(ActionItem.status).in_([ItemStatus.done, ItemStatus.blocked]),
            ),
        )
        return [WeekItem._make(row) for row in rows]
    in_week = select(col(ItemEvent.item_id)).where(
        col(ItemEvent.workspace_id) == workspace_id,
        col(ItemEvent.at) > start,
        col(ItemEvent.at) <= cut,
        col(ItemEvent.item_id).is_not(None),
    )
    # A probe with LIMIT, not EXISTS: PostgreSQL turned the EXISTS into a hashed subplan over
    # every in-progress event of the table (a parallel sequential scan, 150 ms).
    went_in_progress = (
        select(literal(1))
        .where(
            col(ItemEvent.item_id) == col(ActionItem.id),
            col(ItemEvent.at) > start,
            col(ItemEvent.at) <= cut,
            col(ItemEvent.status) == ItemStatus.in_progress,
        )
        .limit(1)
        .correlate(ActionItem)
        .scalar_subquery()
    )
    rows = plain_rows(
        session,
        select(
            *_ITEM_COLUMNS, latest_snapshot(status_text(ItemEvent.status), start), went_in_progress
        ).where(*_in_plan(workspace_id, goal_ids, cut), col(ActionItem.id).in_(in_week)),
    )
    return [WeekItem._make(row) for row in rows]


def open_items(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    week: IsoWeek,
    cut: datetime,
    stale_after: datetime,
    *,
    anything_since: bool,
) -> list[OpenItem]:
    """The plan's items open now and untouched since the cut that are overdue, stale or due next
    week at the cut. Untouched since the cut, an item's last event by then is its last event:
    staleness reads ``last_event_at``."""
    today, next_week = cut.date(), week.shifted(1)
    stale = stale_condition(
        today,
        or_(col(ActionItem.last_event_at).is_(None), col(ActionItem.last_event_at) < stale_after),
        col(Person.weekly_strategic_hours),
    )
    due_next_week = and_(
        col(ActionItem.due_date) >= next_week.monday, col(ActionItem.due_date) <= next_week.sunday
    )
    rows = plain_rows(
        session,
        select(*_ITEM_COLUMNS, stale)
        .join(Person, col(Person.id) == col(ActionItem.owner_id))
        .where(
            *_in_plan(workspace_id, goal_ids, cut),
            col(ActionItem.status).in_(list(OPEN_STATUSES)),
            untouched_since(cut) if anything_since else true(),
            or_(col(ActionItem.due_date) < today, due_next_week, stale),
        ),
    )
    return [OpenItem._make(row) for row in rows]


def weekly_hours(session: Session, workspace_id: uuid.UUID) -> dict[str, float | None]:
    """Each person's declared weekly strategic hours, by ``text_id``."""
    rows = session.execute(
        select(text_id(Person.id), col(Person.weekly_strategic_hours)).where(
            col(Person.workspace_id) == workspace_id
        )
    )
    return {person_id: hours for person_id, hours in rows}
