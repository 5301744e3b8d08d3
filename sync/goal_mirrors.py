"""Progress in the trackers: a goal's mirror (epic, milestone, goal card) shows its progress and
health under the goal's own description, and is re-pushed when that text changes.

The text is part of the mirror's ``description``, so the ordinary push writes it and records it in
``pushed_fields``; what this module adds is noticing that progress or health moved although the
goal itself did not (an item was done, a week passed), and marking the mirror for a push.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.errors import ServiceError
from app.models import ExternalLink, Goal
from app.services.goal_status_text import render_goal_status_text
from app.services.health import goal_health
from app.services.progress import goal_progress
from app.settings import Settings
from sync.context import EngineContext

log = logging.getLogger("planbridge.sync")
SEPARATOR = "\n\n---\n"


def mirror_description(session: Session, goal: Goal, settings: Settings, now: datetime) -> str:
    """The goal's description followed by its status block (progress, health, forecast)."""
    try:
        progress = goal_progress(session, goal.workspace_id, goal.id, now=now)
        health = goal_health(session, goal.workspace_id, goal.id, settings, now=now)
    except ServiceError:  # the goal or its plan went away meanwhile: its description alone
        return goal.description
    status = render_goal_status_text(progress, health)
    return f"{goal.description}{SEPARATOR}{status}" if goal.description else status


def refresh_goal_mirrors(context: EngineContext, now: datetime) -> int:
    """Mark every goal mirror whose status text changed as needing a push; returns how many."""
    marked = 0
    with Session(context.engine) as session:
        rows = session.execute(
            select(ExternalLink, Goal)
            .join(Goal, col(Goal.id) == col(ExternalLink.goal_id))
            .where(
                col(ExternalLink.external_id).is_not(None),
                col(ExternalLink.dead).is_(False),
                col(ExternalLink.tombstoned_at).is_(None),
                col(ExternalLink.pushed_revision) >= Goal.revision,
            )
        ).all()
        for row, goal in rows:
            wanted = mirror_description(session, goal, context.settings, now)
            if wanted == row.pushed_fields.get("description"):
                continue
            # One revision behind is "needs a push"; the push compares fields and writes only the
            # description, and sets pushed_revision back to the goal's revision.
            row.pushed_revision = goal.revision - 1
            session.add(row)
            marked += 1
        session.commit()
    if marked:
        log.info("%d goal mirror(s) get a new progress text", marked)
    return marked
