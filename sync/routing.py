"""Where an action item goes: its own connection and scope, else its goal's, else its plan's
default.

The engine writes one ExternalLink per item (and per mirrored goal) when it first sees it; the link
is then the item's push work and its lease.

Moves. When an item's route changes (its own, its goal's or its plan's connection or scope), the
link stays with the tracker object it names: ``follow_moves`` marks it ``moved_at`` and starts a
new link at the new target in the same transaction, recording a ``sync`` ItemEvent. The new link
is created like any other (crash-safe with the marker: the marker lookup only searches the new
target's project, repository or board). The old object is never deleted: once the new one exists
the push closes it out (sync/push.py ``close_out``: a "moved to" line on top of its description,
and dropped -- closed as not planned, archived, resolved). An item whose route disappears (no
connection anywhere) is not a move: its link is left as it is. Goal mirrors are not moved.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.db import utcnow
from app.models import ActionItem, Connection, ExternalLink, Goal, Plan
from app.models.planning import EventKind, EventSource
from app.models.sync import LIVE_LINK
from app.services.item_history import EventSubject, record_event
from sync.link_scopes import remember_scopes


def identity_key(connection: Connection) -> str:
    """Which of a person's identities this connection uses (Jira Data Center uses usernames)."""
    flavour = str(connection.config.get("flavour") or connection.config.get("deployment") or "")
    if connection.kind == "jira" and flavour.lower() in {
        "dc",
        "data_center",
        "datacenter",
        "server",
    }:
        return "jira_dc"
    return connection.kind


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
    remember_scopes(session, [(row["connection_id"], row["scope"]) for row in rows])


def ensure_links(engine: Engine, *, limit: int = 500) -> int:
    """Create links for routable items and mirrored goals that have none yet; returns how many."""
    created = 0
    with Session(engine) as session:
        unlinked_goals = session.execute(
            select(col(Goal.id), col(Goal.workspace_id), col(Goal.connection_id), col(Goal.scope))
            .where(
                col(Goal.connection_id).is_not(None),
                ~exists().where(col(ExternalLink.goal_id) == col(Goal.id)),
            )
            .limit(limit)
        ).all()
        rows = [
            _link_row(row.workspace_id, row.connection_id, "goal", goal_id=row.id, scope=row.scope)
            for row in unlinked_goals
        ]
        unlinked_items = session.execute(
            select(ActionItem, Goal, Plan)
            .join(Goal, col(Goal.id) == col(ActionItem.goal_id))
            .join(Plan, col(Plan.id) == col(Goal.plan_id))
            .where(
                or_(
                    col(ActionItem.connection_id).is_not(None),
                    col(Goal.connection_id).is_not(None),
                    col(Plan.default_connection_id).is_not(None),
                ),
                ~exists().where(and_(col(ExternalLink.item_id) == col(ActionItem.id))),
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


def _route_columns() -> tuple[Any, Any]:
    """``route_item`` as SQL over item, goal and plan: (connection id, scope)."""
    connection = func.coalesce(
        col(ActionItem.connection_id), col(Goal.connection_id), col(Plan.default_connection_id)
    )
    scope = case(
        (col(ActionItem.connection_id).is_not(None), col(ActionItem.scope)),
        (
            col(Goal.connection_id).is_not(None),
            func.coalesce(col(ActionItem.scope), col(Goal.scope)),
        ),
        else_=func.coalesce(col(ActionItem.scope), col(Plan.default_scope)),
    )
    return connection, scope


def follow_moves(engine: Engine, *, now: datetime | None = None, limit: int = 500) -> int:
    """Start a new link for every item routed away from its live link; returns how many moved."""
    route_connection, route_scope = _route_columns()
    at = now or utcnow()
    with Session(engine) as session:
        candidates = session.execute(
            select(ExternalLink, route_connection, route_scope)
            .join(ActionItem, col(ActionItem.id) == col(ExternalLink.item_id))
            .join(Goal, col(Goal.id) == col(ActionItem.goal_id))
            .join(Plan, col(Plan.id) == col(Goal.plan_id))
            .where(
                col(ExternalLink.kind) == "item",
                LIVE_LINK,
                col(ExternalLink.tombstoned_at).is_(None),
                route_connection.is_not(None),
                or_(
                    col(ExternalLink.connection_id) != route_connection,
                    func.coalesce(col(ExternalLink.scope), "") != func.coalesce(route_scope, ""),
                ),
            )
            .limit(limit)
        ).all()
        if not candidates:
            return 0
        defaults: dict[uuid.UUID, str | None] = {
            row[0]: row[1]
            for row in session.execute(select(col(Connection.id), col(Connection.scope))).all()
        }
        moved = 0
        for link, connection_id, scope in candidates:
            # The same target said two ways (no scope = the connection's default) is no move.
            if connection_id == link.connection_id and (scope or defaults.get(connection_id)) == (
                link.scope or defaults.get(link.connection_id)
            ):
                continue
            # Claimed by a conditional update: two workers noticing the same move start one link.
            taken = session.execute(
                update(ExternalLink)
                .where(col(ExternalLink.id) == link.id, LIVE_LINK)
                .values(moved_at=at)
                .returning(col(ExternalLink.id))
                .execution_options(synchronize_session=False)
            ).first()
            if taken is None:
                continue
            _insert_links(
                engine,
                session,
                [
                    _link_row(
                        link.workspace_id, connection_id, "item", item_id=link.item_id, scope=scope
                    )
                ],
            )
            item = session.get(ActionItem, link.item_id)
            record_event(
                session,
                EventSubject(link.workspace_id, link.item_id, item.goal_id if item else None),
                EventKind.sync,
                source=EventSource.engine,
                field="route",
                from_value=_target_text(link.connection_id, link.scope),
                to_value=_target_text(connection_id, scope),
                data={
                    "from_connection_id": str(link.connection_id),
                    "from_scope": link.scope,
                    "from_key": link.key,
                    "from_url": link.url,
                    "to_connection_id": str(connection_id),
                    "to_scope": scope,
                },
                at=at,
            )
            moved += 1
        session.commit()
    return moved


def _target_text(connection_id: uuid.UUID, scope: str | None) -> str:
    return f"{connection_id}/{scope}" if scope else str(connection_id)
