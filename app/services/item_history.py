"""Item state at a past instant, as SQL, so callers aggregate it in the database.

The rule (unchanged from the first, item-by-item version): an item with an event after the instant
reads as its latest event snapshot (status, estimate, goal) at or before the instant, and is absent
when it has none. The look-ups run on the covering indexes declared in ``app.models.execution``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, Subquery, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.models import ItemEvent


def snapshots_at(item_ids: Select[Any], at: datetime) -> Subquery:
    """Per given item, its latest event snapshot at or before ``at``: item_id, goal_id, status,
    estimate_hours (items without one are absent).

    One backward index probe per item (a correlated ``ORDER BY at DESC LIMIT 1`` for the event's
    id) and a primary-key look-up; of two snapshots at the very same instant (vanishingly rare)
    one is taken, whole.
    """
    candidates = item_ids.subquery()
    candidate_id = next(iter(candidates.c))
    latest_event_id = (
        select(col(ItemEvent.id))
        .where(
            col(ItemEvent.item_id) == candidate_id,
            col(ItemEvent.at) <= at,
            col(ItemEvent.status).is_not(None),
        )
        .order_by(col(ItemEvent.at).desc())
        .limit(1)
        .scalar_subquery()
    )
    latest = select(latest_event_id.label("event_id")).select_from(candidates).subquery()
    snapshot = aliased(ItemEvent)
    return (
        select(
            col(snapshot.item_id).label("item_id"),
            col(snapshot.goal_id).label("goal_id"),
            col(snapshot.status).label("status"),
            col(snapshot.estimate_hours).label("estimate_hours"),
        )
        .join(latest, col(snapshot.id) == latest.c.event_id)
        .subquery()
    )
