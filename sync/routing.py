"""Where an action item goes: its own connection and scope, else its goal's, else its plan's
default.

The engine writes one ExternalLink per item (and per mirrored goal) when it first sees it; the link
is
then the item's push work and its lease. A link stays with the connection it was created for:
moving an
item to another connection later is not followed (delete and recreate the item instead).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import utcnow
from app.models import ActionItem, ExternalLink, Goal, Plan


def route_item(item: ActionItem, goal: Goal, plan: Plan) -> tuple[uuid.UUID, str | None] | None:
    """The connection and scope for ``item`` (scope None: the connection's default), or None."""
    if item.connection_id is not None:
        return item.connection_id, item.scope
    if goal.connection_id is not None:
        return goal.connection_id, item.scope or goal.scope
    if plan.default_connection_id is not None:
        return plan.default_connection_id, item.scope or plan.default_scope
    return None


def _link_row(
    workspace_id: uuid.UUID, connection_id: uuid.UUID, kind: str, **values: Any
) -> dict[str, Any]:
    # A core INSERT does not run the model's Python defaults: every NOT NULL column is given here.
    return {
        "id": uuid.uuid4(),
        "workspace_id": workspace_id,
        "connection_id": connection_id,
        "kind": kind,
        "item_id": None,
        "goal_id": None,
        "scope": None,
        "pushed_revision": 0,
        "pushed_fields": {},
        "remote_fields": {},
        "attempts": 0,
        "dead": False,
        "created_at": utcnow(),
        **values,
    }


def _insert_links(engine: Engine, session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    insert = postgres_insert if engine.dialect.name == "postgresql" else sqlite_insert
    # Two workers may route the same item at once: the unique (connection, item) key keeps one link.
    session.execute(insert(ExternalLink).values(rows).on_conflict_do_nothing())


def ensure_links(engine: Engine, *, limit: int = 500) -> int:
    """Create links for routable items and mirrored goals that have none yet; returns how many."""
    item_a: Any = ActionItem
    goal_a: Any = Goal
    plan_a: Any = Plan
    link_a: Any = ExternalLink
    created = 0
    with Session(engine) as session:
        unlinked_goals = session.execute(
            select(goal_a.id, goal_a.workspace_id, goal_a.connection_id, goal_a.scope)
            .where(
                goal_a.connection_id.is_not(None),
                ~exists().where(link_a.goal_id == goal_a.id),
            )
            .limit(limit)
        ).all()
        rows = [
            _link_row(row.workspace_id, row.connection_id, "goal", goal_id=row.id, scope=row.scope)
            for row in unlinked_goals
        ]
        unlinked_items = session.execute(
            select(item_a, goal_a, plan_a)
            .join(goal_a, goal_a.id == item_a.goal_id)
            .join(plan_a, plan_a.id == goal_a.plan_id)
            .where(
                or_(
                    item_a.connection_id.is_not(None),
                    goal_a.connection_id.is_not(None),
                    plan_a.default_connection_id.is_not(None),
                ),
                ~exists().where(and_(link_a.item_id == item_a.id)),
            )
            .limit(limit)
        ).all()
        for item, goal, plan in unlinked_items:
            route = route_item(item, goal, plan)
            if route is None:
                continue
            rows.append(
                _link_row(item.workspace_id, route[0], "item", item_id=item.id, scope=route[1])
            )
        _insert_links(engine, session, rows)
        session.commit()
        created = len(rows)
    return created
