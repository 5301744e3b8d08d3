"""Finished weeks of the weekly review, stored once, and dropped when their inputs change.

Once a week has been over for ``FREEZE_AFTER`` (longer than any write transaction, so no event
stamped inside the week is still uncommitted), its history-derived parts cannot change any more
(the event log is append-only), so they are computed once and stored: per goal and week the
percent figures and the listed items with their status, due date and estimate at the cut
(``FrozenGoalReview``, its lists as ``lists.ListedItem`` arrays), per workspace and week the
planned hours of each person (``FrozenPlannedWeek``). Everything else is read fresh with each
review, exactly as a recomputation would read it: titles, names, owners, capacities (current
values) and check-ins (a late one counts from when it is written). Stored rows carry the title
and owner an item had when they were stored; a read puts in the current ones
(``with_current_names``).

A stored part is dropped when its inputs change after all (``drop_outdated_reviews``): an event
written with a time before a stored week's end (a scripted or imported history), a ``deleted``
event (the item's open hours leave the planned figures) or a move of an item to another goal
(membership) drop the workspace's parts of the weeks concerned; a change of an item's owner or
start drops the stored planned hours and lists (they count items for their current owner from
their current start, and staleness reads both), as does a change of a person's weekly strategic
hours (staleness reads them); a goal's deletion takes its parts with it (cascade); a different
``stale_after_days`` is ignored and recomputed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session, col

from app.db import utcnow
from app.models import ActionItem, EventKind, ItemEvent, Person
from app.models.execution import RENAMES, FrozenGoalReview, FrozenPlannedWeek
from app.schemas.weeks import IsoWeek
from app.services.weekly_review.lists import LISTS, GoalPart, ListedItem, sort_lists

# Longer than any write transaction: events stamped inside the week are committed by then.
FREEZE_AFTER = timedelta(minutes=10)
# Planned hours at a past cut count each item for its current owner from its current start (as
# the rule spreads it), and staleness reads both: a change of either makes a recomputation differ
# from the stored figures and lists.
PLANNED_BY_CURRENT = ("owner_id", "start_date")


def is_frozen(week: IsoWeek, now: datetime) -> bool:
    """Whether the week's review may be stored (and read back) as of ``now``."""
    return now >= week.end_utc + FREEZE_AFTER


@dataclass
class StoredPart:
    part: GoalPart
    computed_at: datetime


def stored_parts(
    session: Session, goal_ids: list[uuid.UUID], week: IsoWeek, stale_after_days: int
) -> dict[uuid.UUID, StoredPart]:
    """The stored parts of these goals for ``week`` (computed with ``stale_after_days``)."""
    rows = session.execute(
        select(
            col(FrozenGoalReview.goal_id),
            col(FrozenGoalReview.percent_start),
            col(FrozenGoalReview.percent_end),
            col(FrozenGoalReview.lists),
            col(FrozenGoalReview.computed_at),
        ).where(
            col(FrozenGoalReview.goal_id).in_(goal_ids),
            col(FrozenGoalReview.iso_week) == str(week),
            col(FrozenGoalReview.stale_after_days) == stale_after_days,
        )
    )
    return {
        goal_id: StoredPart(GoalPart(start, end, _listed(lists)), computed_at)
        for goal_id, start, end, lists, computed_at in rows
    }


def _listed(stored: dict[str, list[list[Any]]]) -> dict[str, list[ListedItem]]:
    return {name: [ListedItem._make(row) for row in stored.get(name, ())] for name in LISTS}


def store_parts(
    session: Session,
    workspace_id: uuid.UUID,
    week: IsoWeek,
    stale_after_days: int,
    parts: dict[uuid.UUID, GoalPart],
) -> None:
    """Store these goals' parts of ``week``, replacing any stored under another
    ``stale_after_days``; a part another reader stored meanwhile is kept."""
    session.execute(
        delete(FrozenGoalReview).where(
            col(FrozenGoalReview.goal_id).in_(list(parts)),
            col(FrozenGoalReview.iso_week) == str(week),
        )
    )
    computed_at = utcnow()
    rows = [
        {
            "goal_id": goal_id,
            "iso_week": str(week),
            "workspace_id": workspace_id,
            "week_end": week.end_utc,
            "stale_after_days": stale_after_days,
            "percent_start": part.percent_start,
            "percent_end": part.percent_end,
            "lists": part.lists,  # NamedTuples: stored as JSON arrays
            "computed_at": computed_at,
        }
        for goal_id, part in parts.items()
    ]
    if rows:
        session.execute(_insert(session)(FrozenGoalReview).values(rows).on_conflict_do_nothing())


def with_current_names(
    session: Session, workspace_id: uuid.UUID, stored: dict[uuid.UUID, StoredPart]
) -> None:
    """Put the current title and owner into the stored rows of the items renamed or reassigned
    since the parts were stored (one range of the partial index ``ix_item_event_renames``)."""
    if not stored:
        return
    # From a while before the storing: a rename committed just after it was read stays out.
    since = min(entry.computed_at for entry in stored.values()) - FREEZE_AFTER
    changed = (
        select(col(ItemEvent.item_id))
        .where(
            col(ItemEvent.workspace_id) == workspace_id,
            col(ItemEvent.at) > since,
            RENAMES,  # as the partial index's predicate, so the index is used
            col(ItemEvent.kind) == EventKind.planning,
            col(ItemEvent.item_id).is_not(None),
        )
        .distinct()
    )
    current = {
        item_id.hex: (title, owner_id.hex)
        for item_id, title, owner_id in session.execute(
            select(col(ActionItem.id), col(ActionItem.title), col(ActionItem.owner_id)).where(
                col(ActionItem.id).in_(changed)
            )
        )
    }
    if not current:
        return
    for entry in stored.values():
        for name, rows in entry.part.lists.items():
            entry.part.lists[name] = [_renamed(row, current) for row in rows]
        sort_lists(entry.part)


def _renamed(row: ListedItem, current: dict[str, tuple[str, str]]) -> ListedItem:
    if row.item_id not in current:
        return row
    title, owner_id = current[row.item_id]
    return row._replace(title=title, owner_id=owner_id)


def stored_planned(
    session: Session, workspace_id: uuid.UUID, week: IsoWeek
) -> dict[uuid.UUID, float] | None:
    """The stored planned hours of the workspace's people in ``week`` (None: not stored)."""
    stored = session.get(FrozenPlannedWeek, (workspace_id, str(week)))
    if stored is None:
        return None
    return {uuid.UUID(person): hours for person, hours in stored.planned.items()}


def store_planned(
    session: Session, workspace_id: uuid.UUID, week: IsoWeek, planned: dict[uuid.UUID, float]
) -> None:
    """Store the planned hours of every person of the workspace in ``week`` (zeros left out)."""
    session.execute(
        _insert(session)(FrozenPlannedWeek)
        .values(
            workspace_id=workspace_id,
            iso_week=str(week),
            week_end=week.end_utc,
            planned={str(person): hours for person, hours in planned.items() if hours},
            computed_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


def _insert(session: Session) -> Any:
    """The dialect's INSERT, for ON CONFLICT DO NOTHING: two readers may freeze the same week."""
    return postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def drop_outdated_reviews(session: OrmSession, _context: UOWTransaction) -> None:
    """After each flush: drop stored parts whose inputs the flushed events change (module
    docstring)."""
    earliest, every_week = _outdated_by(session)
    if not earliest:
        return
    connection = session.connection()
    for workspace_id, at in earliest.items():
        for table, everything in every_week.items():
            condition = col(table.workspace_id) == workspace_id
            if workspace_id not in everything:
                condition = condition & (col(table.week_end) > at)
            connection.execute(delete(table).where(condition))


def _outdated_by(
    session: OrmSession,
) -> tuple[dict[uuid.UUID, datetime], dict[Any, set[uuid.UUID]]]:
    """Per workspace touched by the flush, the earliest instant it changed (weeks ending after
    it are outdated); and per table the workspaces whose stored weeks all go, whatever their
    end."""
    earliest: dict[uuid.UUID, datetime] = {}
    every_week: dict[Any, set[uuid.UUID]] = {FrozenGoalReview: set(), FrozenPlannedWeek: set()}
    for obj in session.new:
        if not isinstance(obj, ItemEvent) or obj.item_id is None:
            continue
        read_as_current = obj.kind == EventKind.planning and obj.field in PLANNED_BY_CURRENT
        if obj.kind == EventKind.deleted or obj.field == "goal_id" or read_as_current:
            every_week[FrozenGoalReview].add(obj.workspace_id)
            every_week[FrozenPlannedWeek].add(obj.workspace_id)
        if obj.workspace_id not in earliest or obj.at < earliest[obj.workspace_id]:
            earliest[obj.workspace_id] = obj.at
    for obj in session.dirty:
        # Staleness reads the owners' weekly hours as they are now.
        if isinstance(obj, Person) and inspect(obj).attrs.weekly_strategic_hours.history.deleted:
            every_week[FrozenGoalReview].add(obj.workspace_id)
            earliest.setdefault(obj.workspace_id, utcnow())
    return earliest, every_week
