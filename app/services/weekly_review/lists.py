"""Which lists of the weekly review an item lands in, from what it was at the week's start and cut.

Pure: no database. The review of ISO week W looks at two instants, S (Monday 00:00 UTC of W) and
T, the cut (the next Monday 00:00 UTC, or now while W runs). Each item is listed once per group,
in its most telling list:

- what changed in the week: done (done at T, not at S) before newly blocked (blocked at T, not at
  S) before started (went in progress in the week, not begun at S); an item started and finished
  in the week is done;
- the open work at T: overdue (due before T's day) before stale (``app.services.staleness`` at T)
  before due next week.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import NamedTuple

from app.models import ItemStatus
from app.services.item_rules import OPEN_STATUSES

LISTS = ("done", "started", "newly_blocked", "overdue", "stale", "due_next_week")

# Statuses as the text the database gives (``ItemStatus`` is a StrEnum: members compare equal).
_DONE, _BLOCKED = ItemStatus.done.value, ItemStatus.blocked.value
_NOT_BEGUN = frozenset({ItemStatus.todo.value, None})
_OPEN = frozenset(status.value for status in OPEN_STATUSES)


@dataclass(slots=True)  # slotted: a large plan's review holds tens of thousands of them
class ItemAtCut:
    """One item of the plan as it stood at the cut. Title and owner are the current ones; ids
    are 32 hex digits, statuses ``ItemStatus`` values as text."""

    title: str
    owner_id: str
    goal_id: str
    status: str
    due_date: date
    estimate_hours: float
    # The status at S (None: the item did not exist yet, or S is not before the cut).
    was: str | None = None
    # Whether it went in progress in (S, T].
    started: bool = False
    stale: bool = False


@dataclass(frozen=True)
class ListDates:
    """The days the open-work lists compare due dates with."""

    today: date  # the cut's day: due before it is overdue
    next_monday: date
    next_sunday: date


def change_list(item: ItemAtCut) -> str | None:
    """The item's list of what changed in the week, if any."""
    if item.status == _DONE and item.was != _DONE:
        return "done"
    if item.status == _BLOCKED and item.was != _BLOCKED:
        return "newly_blocked"
    if item.started and item.was in _NOT_BEGUN:
        return "started"
    return None


def open_work_list(item: ItemAtCut, dates: ListDates) -> str | None:
    """The item's list of the open work at the cut, if any."""
    if item.status not in _OPEN:
        return None
    if item.due_date < dates.today:
        return "overdue"
    if item.stale:
        return "stale"
    if dates.next_monday <= item.due_date <= dates.next_sunday:
        return "due_next_week"
    return None


class ListedItem(NamedTuple):
    """A listed item as the review's lists hold it, and as a stored week keeps it (a JSON array
    in this order: ``app.services.weekly_review.store``). The due date is ISO text (it sorts as
    the date does); title and owner are replaced by the current ones when a stored week is read."""

    item_id: str
    title: str
    owner_id: str
    status: str
    due_date: str
    estimate_hours: float


# The order of every list: due date, title, id.
list_order = attrgetter("due_date", "title", "item_id")


@dataclass
class GoalPart:
    """A goal's part of the review that only history decides: the percent done at S and at the
    cut, and its lists in ``list_order``. What a finished week stores per goal."""

    percent_start: float | None = None
    percent_end: float | None = None
    lists: dict[str, list[ListedItem]] = field(default_factory=lambda: {n: [] for n in LISTS})


def add_to_lists(part: GoalPart, item_id: str, item: ItemAtCut, dates: ListDates) -> None:
    """Append the item to each list of ``part`` it lands in (one row shared by them)."""
    changed, open_work = change_list(item), open_work_list(item, dates)
    if changed is None and open_work is None:
        return
    row = ListedItem(
        item_id,
        item.title,
        item.owner_id,
        item.status,
        item.due_date.isoformat(),
        item.estimate_hours,
    )
    if changed is not None:
        part.lists[changed].append(row)
    if open_work is not None:
        part.lists[open_work].append(row)


def sort_lists(part: GoalPart) -> None:
    for rows in part.lists.values():
        rows.sort(key=list_order)
