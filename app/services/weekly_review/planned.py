"""Each person's planned hours in a review's week, from their open items as they stood at the cut.

The current loads (``capacity.planned_hours``) are right for every item untouched since the cut;
the items touched since are taken out as they are now and put back as they were at the cut
(their snapshot and due date then, spread by ``app.services.spread`` from their current start,
as the capacity rule spreads them).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, case, or_, select
from sqlmodel import Session, col

from app.models import ActionItem
from app.schemas.weeks import IsoWeek, working_days
from app.services.capacity import planned_hours
from app.services.item_rules import OPEN_STATUSES
from app.services.spread import hours_of_share, week_share
from app.services.weekly_review.snapshots import Snapshot, SnapshotsAt, due_dates_at
from app.services.weekly_review.sql import (
    plain_rows,
    status_text,
    text_id,
    touched_since,
    without_jit,
)


class LoadNow(NamedTuple):
    """An item touched since the cut, with what its load is now and what spreads it at the cut."""

    item_id: str
    owner_id: str
    status: str
    start_date: date | None
    existed_at_cut: bool
    # Its creation, only where it is the start (no start date): a timestamp per row is a
    # conversion per row.
    created_at: datetime | str | None
    due_date: date
    load_from: date | None
    load_to: date | None
    load_per_day: float | None


def planned_in_week(
    session: Session,
    workspace_id: uuid.UUID,
    person_ids: Iterable[uuid.UUID],
    week: IsoWeek,
    snapshots: SnapshotsAt,
) -> dict[uuid.UUID, float]:
    """Planned hours of each person in ``week`` at the cut of ``snapshots``."""
    people = list(set(person_ids))
    without_jit(session)
    planned = {
        person_id: weeks.get(week, 0.0)
        for person_id, weeks in planned_hours(session, workspace_id, people, week, week).items()
    }
    if not snapshots.anything_after(workspace_id):
        return planned  # nothing touched since the cut (a running week)
    due_at_cut = due_dates_at(session, workspace_id, snapshots.at)
    loads = touched_loads(session, workspace_id, people, week, snapshots.at, due_at_cut)
    if not loads:
        return planned
    # Items created after the cut only come out: they have no snapshot by then.
    then = snapshots.of([load.item_id for load in loads if load.existed_at_cut])
    change = _change_since_cut(loads, then, due_at_cut, week)
    for person_id in people:
        if person_id.hex in change:
            planned[person_id] = planned.get(person_id, 0.0) + change[person_id.hex]
    return planned


def touched_loads(
    session: Session,
    workspace_id: uuid.UUID,
    people: list[uuid.UUID],
    week: IsoWeek,
    cut: datetime,
    due_at_cut: dict[str, date],
) -> list[LoadNow]:
    """The people's items touched since the cut that can have hours in ``week``: open now with
    a load in it, or (at the cut) starting by its Sunday and due from its Saturday before on (a
    changed due date: whatever it was)."""
    monday, friday, sunday = week.monday, week.monday + timedelta(days=4), week.sunday
    due_changed = col(ActionItem.id).in_([uuid.UUID(hex=item_id) for item_id in due_at_cut])
    loaded_now = and_(
        col(ActionItem.status).in_(list(OPEN_STATUSES)),
        col(ActionItem.load_to) >= monday,
        col(ActionItem.load_from) <= friday,
    )
    begins_by = or_(
        col(ActionItem.start_date) <= sunday,
        and_(col(ActionItem.start_date).is_(None), col(ActionItem.created_at) < week.end_utc),
        col(ActionItem.due_date) <= sunday,
        due_changed,
    )
    loaded_then = and_(
        col(ActionItem.created_at) <= cut,
        begins_by,
        or_(col(ActionItem.due_date) >= monday - timedelta(days=2), due_changed),
    )
    rows = plain_rows(
        session,
        select(
            text_id(ActionItem.id),
            text_id(ActionItem.owner_id),
            status_text(ActionItem.status),
            col(ActionItem.start_date),
            col(ActionItem.created_at) <= cut,
            case((col(ActionItem.start_date).is_(None), col(ActionItem.created_at))),
            col(ActionItem.due_date),
            col(ActionItem.load_from),
            col(ActionItem.load_to),
            col(ActionItem.load_per_day),
        ).where(
            col(ActionItem.workspace_id) == workspace_id,
            col(ActionItem.owner_id).in_(people),
            or_(loaded_now, loaded_then),
            # Last: as a probe, only for the rows the tests above keep.
            touched_since(cut),
        ),
    )
    return [LoadNow._make(row) for row in rows]


def _change_since_cut(
    loads: list[LoadNow], then: dict[str, Snapshot], due_at_cut: dict[str, date], week: IsoWeek
) -> dict[str, float]:
    """Per owner (text id), the hours in ``week`` of the loads as they were at the cut (their
    snapshot ``then``) less their hours now."""
    monday, friday = week.monday, week.monday + timedelta(days=4)
    change: dict[str, float] = defaultdict(float)
    shares: dict[tuple[date, date], tuple[int, int]] = {}  # many items share a span
    for load in loads:
        if load.status in OPEN_STATUSES and load.load_from is not None and load.load_to is not None:
            overlap = working_days(max(load.load_from, monday), min(load.load_to, friday))
            change[load.owner_id] -= overlap * float(load.load_per_day or 0.0)
        snapshot = then.get(load.item_id)
        if snapshot is None or snapshot.status not in OPEN_STATUSES:
            continue
        begin = load.start_date or _utc(load.created_at).date()
        due = due_at_cut.get(load.item_id, load.due_date)
        share = shares.get((begin, due))
        if share is None:
            share = shares[begin, due] = week_share(begin, due, week)
        change[load.owner_id] += hours_of_share(snapshot.estimate_hours, share)
    return change


def _utc(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite hands a CASE expression's value back as stored text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
