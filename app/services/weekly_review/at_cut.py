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
from app.services.weekly_review.item_rows import ItemNow, ItemRows, TouchedItem
from app.services.weekly_review.lists import ItemAtCut
from app.services.weekly_review.snapshots import Snapshot


def items_at_cut(rows: ItemRows, today: date, *, begun: bool) -> dict[str, ItemAtCut]:
    """By item id, every item that may land in a list. ``today`` is the cut's day; ``begun``
    says whether the week's start is before the cut (else nothing existed at the start)."""
    touched = {item.item_id: item for item in rows.touched}
    items: dict[str, ItemAtCut] = {}
    for in_week in rows.in_week:
        since = touched.get(in_week.now.item_id)
        if since is None:
            item = _as_it_is(in_week.now)
        elif since.at_cut is None:
            continue  # created after the cut
        else:
            item = _as_it_was(since, since.at_cut, rows.due_at_cut)
        if begun:
            item.was = in_week.status_at_start
            item.started = in_week.went_in_progress
        items[in_week.now.item_id] = item
    for open_item in rows.open_untouched:
        if open_item.now.item_id not in items:
            item = items[open_item.now.item_id] = _as_it_is(open_item.now)
            if begun:
                item.was = item.status
        items[open_item.now.item_id].stale = open_item.stale
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
    return items


def _as_it_is(row: ItemNow) -> ItemAtCut:
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
