"""The weekly digest: a plan's review of last week by e-mail (and chat) once the review is ready.

"Ready" is frozen: the worker stores last week's review parts shortly after the week ends
(``freeze_last_week_reviews``, app/services/reviews.py), and a plan with stored parts for the
week gets its digest, once: the ``plan_digest`` row's unique key (plan, week) decides it, with
several workers and across restarts.

Who gets it: planbridge has no followers of a plan, so the digest goes to the plan's owner
(``plan.owner_id``) and the owners of its goals: the people the review is about and the one who
answers for the plan. The body is the review's Markdown ("needs help" first, missing check-ins
named) and its HTML rendering. It is not a nudge, so the nudge opt-out does not stop it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from markdown_it import MarkdownIt
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models import Goal, Person, Plan, PlanDigest
from app.models.execution import FrozenGoalReview
from app.schemas.weeks import IsoWeek
from app.services.messages.outbox import Message, queue_message
from app.services.review_markdown import render_review_markdown
from app.services.reviews import weekly_review
from app.settings import Settings

log = logging.getLogger(__name__)
DIGEST = "digest"
# CommonMark without raw HTML: notes and titles people typed are shown, never interpreted.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def plans_with_ready_review(session: Session, week: IsoWeek) -> list[Plan]:
    """Plans whose review of ``week`` is stored and whose digest has not been sent."""
    frozen_goals = select(col(Goal.plan_id)).where(
        col(Goal.id).in_(
            select(col(FrozenGoalReview.goal_id)).where(col(FrozenGoalReview.iso_week) == str(week))
        )
    )
    sent = select(col(PlanDigest.plan_id)).where(col(PlanDigest.iso_week) == str(week))
    return list(
        session.exec(
            select(Plan)
            .where(col(Plan.id).in_(frozen_goals), col(Plan.id).not_in(sent))
            .order_by(col(Plan.id))
        ).all()
    )


def digest_recipients(session: Session, plan: Plan) -> list[Person]:
    """The plan's owner first, then its goals' owners by name; each person once."""
    goal_owners = select(col(Goal.owner_id)).where(col(Goal.plan_id) == plan.id)
    people = list(
        session.exec(
            select(Person)
            .where(
                col(Person.workspace_id) == plan.workspace_id,
                col(Person.id).in_(goal_owners) | (col(Person.id) == plan.owner_id),
            )
            .order_by(col(Person.name), col(Person.id))
        ).all()
    )
    return sorted(people, key=lambda person: person.id != plan.owner_id)


def digest_message(
    session: Session, plan: Plan, week: IsoWeek, settings: Settings, now: datetime
) -> Message:
    review = weekly_review(session, plan.workspace_id, plan.id, week, settings, now=now)
    markdown = render_review_markdown(review)
    return Message(
        kind=DIGEST,
        iso_week=str(week),
        subject=f"{plan.name}: weekly review {week}",
        text=markdown,
        html=_MARKDOWN.render(markdown),
        topic=str(plan.id),
    )


def _send_digest(
    session: Session, plan: Plan, week: IsoWeek, settings: Settings, now: datetime
) -> int:
    """The digest of one plan, or nothing if another worker has sent it; recipients queued."""
    record = PlanDigest(
        workspace_id=plan.workspace_id, plan_id=plan.id, iso_week=str(week), created_at=now
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return 0
    message = digest_message(session, plan, week, settings, now)
    people = digest_recipients(session, plan)
    record.recipients = sum(
        bool(queue_message(session, person, message, settings, now)) for person in people
    )
    session.add(record)
    return record.recipients


def send_weekly_digests(engine: Engine, settings: Settings, now: datetime) -> int:
    """Queue last week's digest of every plan whose review is ready; the messages queued."""
    week = IsoWeek.of(now.date()).shifted(-1)
    with Session(engine) as session:
        plan_ids: list[uuid.UUID] = [plan.id for plan in plans_with_ready_review(session, week)]
    queued = 0
    for plan_id in plan_ids:
        with Session(engine) as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                continue
            queued += _send_digest(session, plan, week, settings, now)
            session.commit()
    if plan_ids:
        log.info("weekly digest %s: %d message(s) for %d plan(s)", week, queued, len(plan_ids))
    return queued
