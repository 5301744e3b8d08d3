"""Progress in the trackers: last week's review posted as a comment on each goal's mirror.

For every plan with ``post_reviews_to_trackers`` on, once the ISO week is over, each mirrored goal
gets one comment holding that goal's part of the weekly review as Markdown (its progress change,
done, started, blocked, overdue, stale and due items, its needs-help and check-ins). Only trackers
whose connector can comment (``CommentingConnector``: Jira epics, Trello goal cards) get one; a
GitHub milestone takes no comments and is skipped.

Idempotence: a posted comment is recorded as an ItemEvent of kind ``review_posted`` (goal, ISO week
in ``to_value``, connection in ``data``), and a goal mirror with that event for the week is not
posted again. The record is written right after the tracker accepted the comment, so a crash
between the two can repeat one comment; a failed post is retried at the next check.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select, text
from sqlmodel import Session, col

from app.models import Connection, ExternalLink, Goal, ItemEvent, Plan
from app.models.planning import EventKind, EventSource
from app.models.sync import ConnectionState
from app.schemas.reviews import WeeklyReview
from app.schemas.weeks import IsoWeek
from app.services.item_history import EventSubject, record_event
from app.services.review_markdown import render_review_markdown
from app.services.reviews import weekly_review
from connectors.base import AuthFailed, CommentingConnector, ConnectorError, RateLimited, RemoteRef
from sync.context import EngineContext

log = logging.getLogger("planbridge.sync")
REVIEW_POSTED = EventKind.review_posted
# Any constant: the PostgreSQL advisory lock under which one worker at a time posts the comments,
# so two workers checking at the same moment don't both post.
REVIEW_COMMENT_LOCK_KEY = 0x706C616E_636F6D6D


def goal_review(review: WeeklyReview, goal_id: uuid.UUID) -> WeeklyReview:
    """The plan's review narrowed to one goal (plan-wide capacity figures left out)."""
    return review.model_copy(
        update={
            "goals": [goal for goal in review.goals if goal.goal_id == goal_id],
            "needs_help": [entry for entry in review.needs_help if entry.goal_id == goal_id],
            "check_ins": [entry for entry in review.check_ins if entry.goal_id == goal_id],
            "missing_check_ins": [
                entry for entry in review.missing_check_ins if entry.goal_id == goal_id
            ],
            "over_capacity": [],
        }
    )


@contextmanager
def _one_poster(context: EngineContext) -> Iterator[bool]:
    """True when this worker may post now: on PostgreSQL, while it holds the advisory lock."""
    if context.engine.dialect.name != "postgresql":
        yield True
        return
    with context.engine.connect() as connection:
        locked = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": REVIEW_COMMENT_LOCK_KEY}
            ).scalar()
        )
        try:
            yield locked
        finally:
            if locked:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": REVIEW_COMMENT_LOCK_KEY}
                )
            connection.commit()


def _pending_mirrors(
    session: Session, week: IsoWeek
) -> list[tuple[ExternalLink, Goal, Plan, Connection]]:
    """Goal mirrors of plans that post reviews and ran in ``week``, not yet posted for it."""
    rows = session.execute(
        select(ExternalLink, Goal, Plan, Connection)
        .join(Goal, col(Goal.id) == col(ExternalLink.goal_id))
        .join(Plan, col(Plan.id) == col(Goal.plan_id))
        .join(Connection, col(Connection.id) == col(ExternalLink.connection_id))
        .where(
            col(ExternalLink.goal_id).is_not(None),
            col(ExternalLink.external_id).is_not(None),
            col(ExternalLink.dead).is_(False),
            col(ExternalLink.tombstoned_at).is_(None),
            col(Plan.post_reviews_to_trackers).is_(True),
            col(Plan.start_date) <= week.sunday,
            col(Plan.end_date) >= week.monday,
            col(Connection.state) == ConnectionState.active,
        )
        .order_by(col(Plan.id), col(ExternalLink.created_at))
    ).all()
    if not rows:
        return []
    posted = {
        (goal_id, str((data or {}).get("connection_id")))
        for goal_id, data in session.execute(
            select(col(ItemEvent.goal_id), col(ItemEvent.data)).where(
                col(ItemEvent.kind) == REVIEW_POSTED,
                col(ItemEvent.to_value) == str(week),
                col(ItemEvent.goal_id).in_({row[1].id for row in rows}),
            )
        ).all()
    }
    return [
        (row[0], row[1], row[2], row[3])
        for row in rows
        if (row[1].id, str(row[3].id)) not in posted
    ]


def post_review_comments(context: EngineContext, now: datetime) -> int:
    """Post last week's review on every goal mirror still without it; returns comments posted."""
    week = IsoWeek.of(now.date()).shifted(-1)
    posted = 0
    with _one_poster(context) as allowed:
        if not allowed:
            return 0
        with Session(context.engine) as session:
            pending = _pending_mirrors(session, week)
            reviews: dict[uuid.UUID, WeeklyReview] = {}
            # A connection that is rate limited or refuses the credentials gets no more tries
            # until the next check; the pull and push paths handle its state.
            refused: set[uuid.UUID] = set()
            for link, goal, plan, connection in pending:
                if connection.id in refused:
                    continue
                connector = context.connector(connection, link.scope)
                if not isinstance(connector, CommentingConnector):
                    continue  # e.g. a GitHub milestone: nothing to comment on
                if plan.id not in reviews:
                    reviews[plan.id] = weekly_review(
                        session, plan.workspace_id, plan.id, week, context.settings, now=now
                    )
                markdown = render_review_markdown(goal_review(reviews[plan.id], goal.id))
                ref = RemoteRef(str(link.external_id), link.key, link.url)
                try:
                    connector.add_comment(ref, markdown)
                except (RateLimited, AuthFailed) as error:
                    log.info("review comments on connection %s wait: %s", connection.id, error)
                    refused.add(connection.id)
                    continue
                except ConnectorError as error:
                    log.warning("review comment on goal %s failed: %s", goal.id, error)
                    continue
                except Exception:  # a bug must not stop the worker loop; retried next check
                    log.exception("review comment on goal %s failed", goal.id)
                    continue
                record_event(
                    session,
                    EventSubject(goal.workspace_id, goal_id=goal.id),
                    REVIEW_POSTED,
                    source=EventSource.engine,
                    field="review",
                    to_value=str(week),
                    data={"connection_id": str(connection.id), "iso_week": str(week)},
                    at=now,
                )
                session.commit()  # at once: the comment is out, so its record must stick
                posted += 1
    if posted:
        log.info("posted %d weekly review comment(s) for %s", posted, week)
    return posted
