"""The worker's goal-health step: publish ``goal.health_changed`` for the goals whose items
changed status since their health was last compared.

Writers only note such a goal (a ``GoalHealthCheck`` row, ``app.services.health_changes``); this
step, run by every worker loop before the due notifications are sent, takes up to ``CHECK_BATCH``
of those rows, compares each noted goal's health with the last published one and enqueues a change
(``publish_health_changes``), then deletes the rows it took, all in one transaction: a crash
leaves the rows for the next loop, and a change is enqueued with the rows' deletion or not at
all. On PostgreSQL the rows are read ``FOR UPDATE SKIP LOCKED``, so workers take disjoint rows;
two workers holding rows of one goal still enqueue its change once (the swap of the published
health is conditional, see ``app.services.health_changes``). A row noted while the step runs
stays for the next loop.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.models.health_checks import GoalHealthCheck
from app.services.health_changes import publish_health_changes
from app.settings import Settings

log = logging.getLogger("planbridge.sync")
# Health checks taken per step: one health computation per workspace for all its noted goals.
CHECK_BATCH = 500


def publish_goal_health(
    engine: Engine, settings: Settings, now: datetime, *, limit: int = CHECK_BATCH
) -> int:
    """Compare the noted goals' health with the published one; returns the changes enqueued."""
    with Session(engine) as session:
        query = (
            select(
                col(GoalHealthCheck.id),
                col(GoalHealthCheck.workspace_id),
                col(GoalHealthCheck.goal_id),
            )
            .order_by(col(GoalHealthCheck.at))
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        checks = session.execute(query).all()
        if not checks:
            session.rollback()
            return 0
        goals: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for _check_id, workspace_id, goal_id in checks:
            goals[workspace_id].add(goal_id)
        published = 0
        for workspace_id, goal_ids in goals.items():
            # A savepoint per workspace: one that fails is logged and does not hold back the rest.
            try:
                with session.begin_nested():
                    published += publish_health_changes(
                        session, workspace_id, sorted(goal_ids), settings, now=now
                    )
            except Exception:
                log.exception(
                    "goal health notification failed", extra={"workspace_id": str(workspace_id)}
                )
        session.execute(
            delete(GoalHealthCheck).where(col(GoalHealthCheck.id).in_([row[0] for row in checks]))
        )
        session.commit()
    if published:
        log.info("enqueued %d goal health change(s)", published)
    return published
