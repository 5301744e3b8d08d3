"""Weekly check-ins: one current per owner, goal and ISO week; a newer one replaces it, kept as
history. A check-in is for the current week, the previous one (late: the review lists it as late)
or the next one; any other week is a 422 on ``iso_week``. Once a week's review is frozen its
check-ins are final, as on the check-in page: a late first check-in is still taken (the frozen
review reads check-ins fresh and lists it as late), a correction of one is a 422 on ``iso_week``."""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import InvalidField
from app.models import Goal, Person
from app.models.execution import CheckIn
from app.schemas.execution import CheckInCreate
from app.schemas.weeks import IsoWeek
from app.services.checkin_drafts import week_is_frozen
from app.services.pagination import PageSlice, creation_order, paginate


def check_in_weeks(today: date) -> tuple[IsoWeek, IsoWeek, IsoWeek]:
    """The weeks a check-in may be for on ``today``: the previous, the current and the next."""
    current = IsoWeek.of(today)
    return current.shifted(-1), current, current.shifted(1)


def record_check_in(session: Session, workspace_id: uuid.UUID, data: CheckInCreate) -> CheckIn:
    now = utcnow()
    previous, this_week, following = check_in_weeks(now.date())
    if data.iso_week not in (str(previous), str(this_week), str(following)):
        raise InvalidField(
            "iso_week",
            f"A check-in is for the current week ({this_week}), the previous one ({previous}, "
            f"late) or the next one ({following}); {data.iso_week} is none of them.",
        )
    owner = session.get(Person, data.owner_id)
    if owner is None or owner.workspace_id != workspace_id:
        raise InvalidField("owner_id", f"Person {data.owner_id} does not exist in this workspace.")
    goal = session.get(Goal, data.goal_id)
    if goal is None or goal.workspace_id != workspace_id:
        raise InvalidField("goal_id", f"Goal {data.goal_id} does not exist in this workspace.")
    current = session.exec(
        select(CheckIn).where(
            col(CheckIn.workspace_id) == workspace_id,
            col(CheckIn.owner_id) == owner.id,
            col(CheckIn.goal_id) == goal.id,
            col(CheckIn.iso_week) == data.iso_week,
            col(CheckIn.replaced_at).is_(None),
        )
    ).first()
    if current is not None and week_is_frozen(IsoWeek.parse(data.iso_week), now):
        raise InvalidField(
            "iso_week",
            f"The review of {data.iso_week} is frozen, so its check-ins can no longer be "
            f"changed; check in for {this_week} instead.",
        )
    if current is not None:
        # Retire the old one first: the unique index allows one current row per owner, goal and
        # week.
        current.replaced_at = now
        session.add(current)
        session.flush()
    check_in = CheckIn(workspace_id=workspace_id, created_at=now, **data.model_dump())
    session.add(check_in)
    session.flush()
    if current is not None:
        current.replaced_by_id = check_in.id
        session.add(current)
        session.flush()
    return check_in


def list_check_ins(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    goal_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    plan_id: uuid.UUID | None = None,
    iso_week: str | None = None,
    needs_help: bool | None = None,
    include_replaced: bool = False,
    limit: int,
    offset: int,
) -> PageSlice[CheckIn]:
    statement = select(CheckIn).where(col(CheckIn.workspace_id) == workspace_id)
    if goal_id is not None:
        statement = statement.where(col(CheckIn.goal_id) == goal_id)
    if owner_id is not None:
        statement = statement.where(col(CheckIn.owner_id) == owner_id)
    if plan_id is not None:
        statement = statement.where(
            col(CheckIn.goal_id).in_(select(Goal.id).where(col(Goal.plan_id) == plan_id))
        )
    if iso_week is not None:
        statement = statement.where(col(CheckIn.iso_week) == iso_week)
    if needs_help is not None:
        statement = statement.where(col(CheckIn.needs_help) == needs_help)
    if not include_replaced:
        statement = statement.where(col(CheckIn.replaced_at).is_(None))
    return paginate(session, statement, creation_order(CheckIn), limit=limit, offset=offset)
