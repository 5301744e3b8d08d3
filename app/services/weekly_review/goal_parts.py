"""Each goal's part of a weekly review that history decides, computed: the percent done at the
week's start and cut, and its lists.

Percent figures come from ``progress.hours_at`` (the goal hours ledger: one index range, deleted
items' hours kept). The lists: the items' rows (``item_rows``), put together as they stood at the
cut (``at_cut``), each added to the lists it lands in (``lists``) under the goal it was in at the
cut. Nothing here replays items one by one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from app.schemas.weeks import IsoWeek
from app.services.progress import Hours, current_hours, hours_at, percent
from app.services.staleness import quiet_since
from app.services.weekly_review.at_cut import items_at_cut
from app.services.weekly_review.item_rows import read_item_rows
from app.services.weekly_review.lists import GoalPart, ListDates, add_to_lists, sort_lists
from app.services.weekly_review.snapshots import SnapshotsAt
from app.services.weekly_review.sql import without_jit


def compute_goal_parts(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    week: IsoWeek,
    stale_after_days: int,
    snapshots: SnapshotsAt,
) -> dict[uuid.UUID, GoalPart]:
    """Per goal of the plan, its part of the review of ``week`` at the cut of ``snapshots``."""
    cut, start = snapshots.at, week.start_utc
    without_jit(session)
    rows = read_item_rows(
        session, workspace_id, goal_ids, week, quiet_since(cut, stale_after_days), snapshots
    )
    items = items_at_cut(rows, cut.date(), begun=start < cut)
    parts = _percent_parts(session, workspace_id, goal_ids, start, cut)
    by_text_id = {goal_id.hex: part for goal_id, part in parts.items()}
    next_week = week.shifted(1)
    dates = ListDates(cut.date(), next_week.monday, next_week.sunday)
    for item_id, item in items.items():
        part = by_text_id.get(item.goal_id)
        if part is not None:  # else at the cut the item was in a goal of another plan
            add_to_lists(part, item_id, item, dates)
    for part in parts.values():
        sort_lists(part)
    return parts


def _percent_parts(
    session: Session,
    workspace_id: uuid.UUID,
    goal_ids: list[uuid.UUID],
    start: datetime,
    cut: datetime,
) -> dict[uuid.UUID, GoalPart]:
    """Per goal, a part with its percent done at ``start`` and at ``cut`` and empty lists."""
    now_hours = {
        goal_id: hours
        for goal_id, (hours, _count, _done) in current_hours(
            session, workspace_id, goal_ids
        ).items()
    }
    at_end = hours_at(session, workspace_id, goal_ids, now_hours, cut)
    at_start = hours_at(session, workspace_id, goal_ids, now_hours, start) if start < cut else {}
    parts: dict[uuid.UUID, GoalPart] = {}
    for goal_id in goal_ids:
        before, after = at_start.get(goal_id, Hours()), at_end.get(goal_id, Hours())
        parts[goal_id] = GoalPart(
            percent_start=percent(before.done, before.total),
            percent_end=percent(after.done, after.total),
        )
    return parts
