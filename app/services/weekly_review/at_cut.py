"""The plan's items as they stood at the week's cut, put together from their rows (``item_rows``).

Pure: no database. An item untouched since the cut is at the cut what its row says now; an item
touched since is its snapshot at the cut (goal, status, estimate) with its due date then, or
nothing if it had no snapshot by then. An item with no event in the week was at the week's start
what it was at the cut. Stale (``app.services.staleness`` at the cut): read in SQL for the
untouched open items, decided here for the touched ones, with their current start date and their
owner's current weekly hours (as the planned hours count them).
"""

from __future__ import annotations

from datetime import date

from app.services.item_rules import OPEN_STATUSES
from app.services.staleness import is_stale
from app.services.weekly_review.item_rows import ItemRows, OpenItem, TouchedItem, WeekItem
from app.services.weekly_review.lists import ItemAtCut
from app.services.weekly_review.snapshots import Snapshot


def items_at_cut(rows: ItemRows, today: date, *, begun: bool) -> dict[str, ItemAtCut]:
    """By item id, every item that may land in a list. ``today`` is the cut's day; ``begun``
    says whether the week's start is before the cut (else nothing existed at the start)."""
    items: dict[str, ItemAtCut] = {}
    _add_changed_in_week(items, rows, begun=begun)
    _add_open_untouched(items, rows, begun=begun)
    _add_open_touched(items, rows, today, begun=begun)
    return items


def _add_changed_in_week(items: dict[str, ItemAtCut], rows: ItemRows, *, begun: bool) -> None:
    """The items with an event in the week, with their status at its start."""
    touched = {item.item_id: item for item in rows.touched}
    for in_week in rows.in_week:
        since = touched.get(in_week.item_id)
        if since is None:
            item = _as_it_is(in_week)
        elif since.at_cut is None:
            continue  # created after the cut
        else:
            item = _as_it_was(since, since.at_cut, rows.due_at_cut)
        if begun:
            item.was = in_week.status_at_start
            item.started = in_week.went_in_progress is not None
        items[in_week.item_id] = item


def _add_open_untouched(items: dict[str, ItemAtCut], rows: ItemRows, *, begun: bool) -> None:
    """The open work untouched since the cut (stale as SQL found it); without an event in the
    week, such an item was at the week's start what it is."""
    for open_item in rows.open_untouched:
        if open_item.item_id not in items:
            item = items[open_item.item_id] = _as_it_is(open_item)
            if begun:
                item.was = item.status
        items[open_item.item_id].stale = bool(open_item.stale)


def _add_open_touched(
    items: dict[str, ItemAtCut], rows: ItemRows, today: date, *, begun: bool
) -> None:
    """The items open at the cut and touched since, with staleness decided by the rule."""
    for since in rows.touched:
        snapshot = since.at_cut
        if snapshot is None or snapshot.status not in OPEN_STATUSES:
            continue
        if since.item_id not in items:
            item = items[since.item_id] = _as_it_was(since, snapshot, rows.due_at_cut)
            if begun:
                item.was = item.status
        item = items[since.item_id]
        item.stale = is_stale(
            item.status,
            quiet=not snapshot.recent,
            start_date=since.start_date,
            due_date=item.due_date,
            estimate_hours=item.estimate_hours,
            weekly_hours=rows.weekly_hours.get(since.owner_id),
            today=today,
        )


def _as_it_is(row: WeekItem | OpenItem) -> ItemAtCut:
    """An item untouched since the cut: its row."""
    estimate = float(row.estimate_hours or 0.0)
    return ItemAtCut(row.title, row.owner_id, row.goal_id, row.status, row.due_date, estimate)


def _as_it_was(since: TouchedItem, snapshot: Snapshot, due_at_cut: dict[str, date]) -> ItemAtCut:
    """An item touched since the cut: its snapshot then, its due date then."""
    return ItemAtCut(
        since.title,
        since.owner_id,
        snapshot.goal_id,
        snapshot.status,
        due_at_cut.get(since.item_id, since.due_date),
        snapshot.estimate_hours,
    )
