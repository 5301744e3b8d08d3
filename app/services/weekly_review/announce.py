"""The weekly review's part in the worker's loop, once a week is over: last week's reviews are
stored as soon as they may be (``store.FREEZE_AFTER`` after the week's end), and ``review.ready``
is enqueued once per running plan for subscribers."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.db import utcnow
from app.models import Goal, Plan
from app.models.execution import FrozenGoalReview, NotificationDelivery, Subscription
from app.schemas.weeks import IsoWeek
from app.services.notifications import enqueue_event
from app.services.weekly_review.assembly import weekly_review
from app.services.weekly_review.store import is_frozen
from app.services.wording import count_of
from app.settings import Settings

log = logging.getLogger("planbridge.reviews")


def freeze_last_week_reviews(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> int:
    """Store the parts of last week's review of every plan that ran in it, once the week may be
    frozen; returns how many plans were computed (0 once they are stored). For the worker."""
    now = now or utcnow()
    week = IsoWeek.of(now.date()).shifted(-1)
    if not is_frozen(week, now):
        return 0
    stored = select(col(FrozenGoalReview.goal_id)).where(
        col(FrozenGoalReview.iso_week) == str(week)
    )
    pending = select(col(Goal.plan_id)).where(col(Goal.id).not_in(stored))
    plans = session.scalars(
        select(Plan).where(
            col(Plan.start_date) <= week.sunday,
            col(Plan.end_date) >= week.monday,
            col(Plan.id).in_(pending),
        )
    ).all()
    for plan in plans:
        weekly_review(session, plan.workspace_id, plan.id, week, settings, now=now, store=True)
    return len(plans)


def enqueue_ready_reviews(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> int:
    """Enqueue ``review.ready`` once per running plan for the week that just ended (idempotent).

    Meant for the worker's loop; the event id is derived from plan and week, so a second call for
    the same week finds the deliveries already there and adds none. Stores last week's reviews
    first, once they may be (``freeze_last_week_reviews``).
    """
    now = now or utcnow()
    try:
        # In a savepoint: a review that cannot be stored must not hold back the notifications.
        with session.begin_nested():
            freeze_last_week_reviews(session, settings, now=now)
    except Exception:
        log.exception("storing last week's reviews failed; retried at the next check")
    week = IsoWeek.of(now.date()).shifted(-1)
    workspaces = set(
        session.scalars(
            select(col(Subscription.workspace_id)).where(col(Subscription.active).is_(True))
        )
    )
    count = 0
    for plan in session.scalars(
        select(Plan).where(
            col(Plan.workspace_id).in_(workspaces),
            col(Plan.start_date) <= week.sunday,
            col(Plan.end_date) >= week.monday,
        )
    ).all():
        event_id = uuid.uuid5(plan.id, str(week))
        already = session.scalars(
            select(col(NotificationDelivery.id)).where(
                col(NotificationDelivery.event_id) == event_id
            )
        ).first()
        if already is not None:
            continue
        review = weekly_review(session, plan.workspace_id, plan.id, week, settings, now=now)
        done = sum(len(goal.done) for goal in review.goals)
        text = (
            f"Weekly review {week} of {plan.name}: {count_of(done, 'item')} done, "
            f"{count_of(len(review.needs_help), 'check-in')} asking for help, "
            f"{count_of(len(review.missing_check_ins), 'check-in')} missing."
        )
        payload = {
            "plan_id": str(plan.id),
            "iso_week": str(week),
            "path": f"/api/v1/plans/{plan.id}/reviews/{week}",
        }
        count += len(
            enqueue_event(
                session,
                plan.workspace_id,
                "review.ready",
                payload,
                text=text,
                event_id=event_id,
                now=now,
            )
        )
    return count
