"""The weekly review's classification, without a database: which list an item lands in
(app/services/weekly_review/lists.py) and what an item was at the cut, put together from its rows
(app/services/weekly_review/at_cut.py)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from app.models import ItemStatus
from app.services.weekly_review.at_cut import items_at_cut
from app.services.weekly_review.item_rows import ItemRows, OpenItem, TouchedItem, WeekItem
from app.services.weekly_review.lists import (
    LISTS,
    GoalPart,
    ItemAtCut,
    ListDates,
    ListedItem,
    add_to_lists,
    change_list,
    open_work_list,
    sort_lists,
)
from app.services.weekly_review.snapshots import Snapshot

TODO, DOING, BLOCKED = ItemStatus.todo.value, ItemStatus.in_progress.value, ItemStatus.blocked.value
DONE, DROPPED = ItemStatus.done.value, ItemStatus.dropped.value
# The cut of 2027-W03 (Monday 18 to Sunday 24 January); next week is 25 to 31 January.
DATES = ListDates(
    today=date(2027, 1, 25), next_monday=date(2027, 1, 25), next_sunday=date(2027, 1, 31)
)
GOAL, OTHER_GOAL, OWNER = "a" * 32, "b" * 32, "c" * 32


def item(
    status: str,
    *,
    was: str | None = None,
    started: bool = False,
    stale: bool = False,
    due: date = date(2027, 2, 15),
    title: str = "Item",
) -> ItemAtCut:
    return ItemAtCut(title, OWNER, GOAL, status, due, 4.0, was=was, started=started, stale=stale)


@pytest.mark.parametrize(
    ("at_cut", "expected"),
    [
        (item(DONE, was=TODO, started=True), "done"),  # started and finished in the week: done
        (item(DONE, was=None), "done"),  # created and finished in the week
        (item(DONE, was=DONE), None),  # done before the week
        (item(BLOCKED, was=DOING, started=True), "newly_blocked"),
        (item(BLOCKED, was=BLOCKED), None),
        (item(DOING, was=TODO, started=True), "started"),
        (item(DOING, was=None, started=True), "started"),
        (item(DOING, was=DOING, started=True), None),  # in progress already at the start
        (item(DOING, was=BLOCKED, started=True), None),  # unblocked, not begun in the week
        (item(DOING, was=TODO, started=False), None),
        (item(TODO, was=DOING, started=True), None),  # went back to do
    ],
)
def test_what_changed_in_the_week_is_one_list_the_most_telling(
    at_cut: ItemAtCut, expected: str | None
) -> None:
    assert change_list(at_cut) == expected


@pytest.mark.parametrize(
    ("at_cut", "expected"),
    [
        (item(TODO, due=date(2027, 1, 24), stale=True), "overdue"),  # overdue before stale
        (item(BLOCKED, due=date(2027, 1, 24)), "overdue"),
        (item(DOING, due=date(2027, 1, 26), stale=True), "stale"),  # stale before due soon
        (item(TODO, due=date(2027, 1, 25)), "due_next_week"),  # due on the cut's day: not late
        (item(TODO, due=date(2027, 1, 31)), "due_next_week"),
        (item(TODO, due=date(2027, 2, 1)), None),
        (item(DONE, due=date(2027, 1, 1), stale=True), None),  # not open work
        (item(DROPPED, due=date(2027, 1, 1)), None),
    ],
)
def test_open_work_is_one_list_overdue_before_stale_before_due_next_week(
    at_cut: ItemAtCut, expected: str | None
) -> None:
    assert open_work_list(at_cut, DATES) == expected


def test_an_item_in_two_groups_is_one_row_in_both_lists() -> None:
    part = GoalPart()
    finished_late = item(BLOCKED, was=DOING, due=date(2027, 1, 20), title="Late")
    add_to_lists(part, "1" * 32, finished_late, DATES)
    add_to_lists(part, "2" * 32, item(TODO, was=TODO), DATES)  # in no list
    row = ListedItem("1" * 32, "Late", OWNER, BLOCKED, "2027-01-20", 4.0)
    assert part.lists["newly_blocked"] == [row]
    assert part.lists["overdue"] == [row]
    assert part.lists["newly_blocked"][0] is part.lists["overdue"][0]
    assert sum(len(rows) for rows in part.lists.values()) == 2


def test_lists_are_ordered_by_due_date_title_and_id() -> None:
    part = GoalPart()
    for item_id, title, due in [
        ("3" * 32, "B", date(2027, 1, 20)),
        ("2" * 32, "A", date(2027, 1, 21)),
        ("1" * 32, "B", date(2027, 1, 20)),
        ("4" * 32, "A", date(2027, 1, 20)),
    ]:
        add_to_lists(part, item_id, item(TODO, due=due, title=title), DATES)
    sort_lists(part)
    assert [(row.title, row.item_id[0]) for row in part.lists["overdue"]] == [
        ("A", "4"),
        ("B", "1"),
        ("B", "3"),
        ("A", "2"),
    ]
    assert set(part.lists) == set(LISTS)


def test_a_listed_item_is_stored_as_a_json_array_in_field_order() -> None:
    row = ListedItem("1" * 32, "Title", OWNER, DONE, "2027-01-20", 2.5)
    stored = json.loads(json.dumps({"done": [row]}))
    assert stored == {"done": [["1" * 32, "Title", OWNER, DONE, "2027-01-20", 2.5]]}
    assert ListedItem._make(stored["done"][0]) == row


def in_week(item_id: str, status: str, was: str | None, *, went: bool = False) -> WeekItem:
    title, due = f"Item {item_id[0]}", date(2027, 2, 15)
    return WeekItem(item_id, title, OWNER, GOAL, status, due, 3.0, was, 1 if went else None)


def open_now(item_id: str, status: str, *, stale: bool) -> OpenItem:
    title, due = f"Item {item_id[0]}", date(2027, 2, 15)
    return OpenItem(item_id, title, OWNER, GOAL, status, due, 3.0, stale)


def touched(item_id: str, at_cut: Snapshot | None, *, start: date | None = None) -> TouchedItem:
    return TouchedItem(item_id, f"Item {item_id[0]}", OWNER, date(2027, 2, 15), start, at_cut)


def rows(**given: object) -> ItemRows:
    defaults: dict[str, object] = {
        "touched": [],
        "in_week": [],
        "open_untouched": [],
        "due_at_cut": {},
        "weekly_hours": {},
    }
    return ItemRows(**{**defaults, **given})  # type: ignore[arg-type]


def test_an_item_untouched_since_the_cut_is_its_row() -> None:
    found = items_at_cut(
        rows(in_week=[in_week("1" * 32, DONE, TODO, went=True)]), DATES.today, begun=True
    )
    assert found == {
        "1" * 32: ItemAtCut("Item 1", OWNER, GOAL, DONE, date(2027, 2, 15), 3.0, TODO, True)
    }


def test_an_item_touched_since_the_cut_is_its_snapshot_with_its_due_date_then() -> None:
    item_id = "1" * 32
    then = Snapshot(OTHER_GOAL, BLOCKED, 8.0, recent=True)
    found = items_at_cut(
        rows(
            touched=[touched(item_id, then)],
            in_week=[in_week(item_id, DONE, DOING)],
            due_at_cut={item_id: date(2027, 1, 22)},
        ),
        DATES.today,
        begun=True,
    )
    # Goal, status, estimate and due date as they were; title and owner as they are.
    assert found[item_id] == ItemAtCut(
        "Item 1", OWNER, OTHER_GOAL, BLOCKED, date(2027, 1, 22), 8.0, DOING, False, False
    )


def test_an_item_created_after_the_cut_is_in_no_list() -> None:
    item_id = "1" * 32
    found = items_at_cut(
        rows(
            touched=[touched(item_id, None)],
            in_week=[in_week(item_id, DONE, None)],
        ),
        DATES.today,
        begun=True,
    )
    assert found == {}


def test_open_work_untouched_was_the_same_at_the_start_of_the_week() -> None:
    item_id = "1" * 32
    open_rows = rows(open_untouched=[open_now(item_id, DOING, stale=True)])
    begun = items_at_cut(open_rows, DATES.today, begun=True)[item_id]
    assert (begun.was, begun.stale, begun.started) == (DOING, True, False)
    # A week whose start is not before the cut: nothing existed at its start.
    assert items_at_cut(open_rows, DATES.today, begun=False)[item_id].was is None


def test_open_work_touched_since_is_stale_by_the_rule_at_the_cut() -> None:
    quiet_doing, busy_doing, late_todo, done = "1" * 32, "2" * 32, "3" * 32, "4" * 32
    found = items_at_cut(
        rows(
            touched=[
                touched(quiet_doing, Snapshot(GOAL, DOING, 2.0, recent=False)),
                touched(busy_doing, Snapshot(GOAL, DOING, 2.0, recent=True)),
                # Should have started before the cut's day.
                touched(late_todo, Snapshot(GOAL, TODO, 2.0, recent=True), start=date(2027, 1, 20)),
                touched(done, Snapshot(GOAL, DONE, 2.0, recent=False)),
            ],
            weekly_hours={OWNER: 10.0},
        ),
        DATES.today,
        begun=True,
    )
    assert {item_id: entry.stale for item_id, entry in found.items()} == {
        quiet_doing: True,
        busy_doing: False,
        late_todo: True,
    }
    assert found[quiet_doing].was == DOING  # no event in the week: as it was at the cut
