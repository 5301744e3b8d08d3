"""The check-ins of a weekly review: as they are now (the latest per owner and goal), a check-in
written after the week ended counting as ``late``; missing are the goals whose owner has none."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.models import Goal, Person
from app.models.execution import CheckIn
from app.schemas.reviews import MissingCheckIn, ReviewCheckIn
from app.schemas.weeks import IsoWeek


def week_check_ins(
    session: Session,
    workspace_id: uuid.UUID,
    goals: list[Goal],
    people: dict[uuid.UUID, Person],
    week: IsoWeek,
    now: datetime,
) -> tuple[list[ReviewCheckIn], list[MissingCheckIn]]:
    """The week's check-ins written before ``now``, the latest per owner and goal (needs help
    first), those written after the week ended ``late``; and the goals whose owner has none."""
    rows = session.scalars(
        select(CheckIn)
        .where(
            col(CheckIn.workspace_id) == workspace_id,
            col(CheckIn.goal_id).in_([goal.id for goal in goals]),
            col(CheckIn.iso_week) == str(week),
            col(CheckIn.created_at) < now,
        )
        .order_by(col(CheckIn.created_at).desc())
    )
    latest: dict[tuple[uuid.UUID, uuid.UUID], CheckIn] = {}
    for check_in in rows:
        latest.setdefault((check_in.owner_id, check_in.goal_id), check_in)
    titles = {goal.id: goal.title for goal in goals}
    received = [
        ReviewCheckIn(
            owner_id=check_in.owner_id,
            owner=people[check_in.owner_id].name if check_in.owner_id in people else "",
            goal_id=check_in.goal_id,
            goal=titles[check_in.goal_id],
            confidence=str(check_in.confidence),
            note=check_in.note,
            blockers=check_in.blockers,
            needs_help=check_in.needs_help,
            late=check_in.created_at >= week.end_utc,
        )
        for check_in in sorted(
            latest.values(), key=lambda c: (not c.needs_help, titles[c.goal_id], str(c.id))
        )
    ]
    missing = [
        MissingCheckIn(
            owner_id=goal.owner_id,
            owner=people[goal.owner_id].name if goal.owner_id in people else "",
            goal_id=goal.id,
            goal=goal.title,
        )
        for goal in goals
        if (goal.owner_id, goal.id) not in latest
    ]
    return received, missing
