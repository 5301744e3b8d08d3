"""Where items and goals went in the trackers, and the one definition of a link's sync state.

The API shows every item and goal with its live links (a link the item moved away from is history
and left out). A page of rows gets its links in one query, never one per row, and the sync state
is computed in that query by ``sync_state_of``, the same expression ``GET /items?sync_state=``
filters on, so a state shown and a state filtered can never disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, exists, select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from app.models import ActionItem, Connection, ExternalLink, Goal
from app.models.sync import LIVE_LINK, SyncState, is_behind


def sync_state_of(owner_revision: Any) -> ColumnElement[str]:
    """The link's ``SyncState`` as SQL; ``owner_revision`` is its item's or goal's revision.

    In this order: dead (pushes gave up), deleted (the tracker object is gone), failing (the last
    push failed, another is coming), pending (``is_behind``: not created yet, moved, or planbridge
    holds a newer revision than it pushed), else synced. A link that ``needs_push`` is therefore
    pending or failing.
    """
    return case(
        (col(ExternalLink.dead).is_(True), SyncState.dead.value),
        (col(ExternalLink.tombstoned_at).is_not(None), SyncState.deleted.value),
        (col(ExternalLink.attempts) > 0, SyncState.failing.value),
        (is_behind(owner_revision), SyncState.pending.value),
        else_=SyncState.synced.value,
    )


def item_has_link_in(workspace_id: uuid.UUID, states: Sequence[SyncState]) -> ColumnElement[bool]:
    """True for an action item with a live link in one of ``states`` (correlated to the item)."""
    return exists().where(
        col(ExternalLink.workspace_id) == workspace_id,
        col(ExternalLink.item_id) == col(ActionItem.id),
        LIVE_LINK,
        sync_state_of(col(ActionItem.revision)).in_([state.value for state in states]),
    )


def item_links(
    session: Session, workspace_id: uuid.UUID, item_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each item's live links as ``TrackerLink`` fields, oldest first; one query for them all."""
    return _links(session, workspace_id, col(ExternalLink.item_id), ActionItem, item_ids)


def goal_links(
    session: Session, workspace_id: uuid.UUID, goal_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each goal's mirrors (epic, milestone, goal label) as ``TrackerLink`` fields; one query."""
    return _links(session, workspace_id, col(ExternalLink.goal_id), Goal, goal_ids)


def with_links(
    rows: Sequence[dict[str, Any]], links: dict[uuid.UUID, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The rows of a page, each with its ``links`` (an empty list for a row without any)."""
    return [{**row, "links": links.get(row["id"], [])} for row in rows]


def _links(
    session: Session,
    workspace_id: uuid.UUID,
    owner_column: Mapped[uuid.UUID | None],
    owner_model: type[ActionItem] | type[Goal],
    owner_ids: Collection[uuid.UUID],
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    if not owner_ids:
        return {}
    # Only external_link is scanned (by its item_id or goal_id index); the owner's revision and
    # the connection's name are looked up by primary key per link. Joins gave PostgreSQL the
    # choice of a plan, and before its statistics caught up it scanned a connection's every link.
    revision = (
        select(col(owner_model.revision))
        .where(col(owner_model.id) == owner_column)
        .scalar_subquery()
    )
    connection_name = (
        select(col(Connection.name))
        .where(col(Connection.id) == col(ExternalLink.connection_id))
        .scalar_subquery()
    )
    statement = (
        select(
            owner_column.label("owner_id"),
            col(ExternalLink.id),
            col(ExternalLink.connection_id),
            connection_name.label("connection_name"),
            col(ExternalLink.scope),
            col(ExternalLink.key),
            col(ExternalLink.url),
            sync_state_of(revision).label("sync_state"),
            col(ExternalLink.last_synced_at),
            col(ExternalLink.last_error),
        )
        .where(
            col(ExternalLink.workspace_id) == workspace_id,
            owner_column.in_(list(owner_ids)),
            LIVE_LINK,
        )
        .order_by(col(ExternalLink.created_at), col(ExternalLink.id))
    )
    found: dict[uuid.UUID, list[dict[str, Any]]] = {}
    # Plain Core rows through the session's connection: this runs once per list page.
    for row in session.connection().execute(statement).mappings():
        values = dict(row)
        found.setdefault(values.pop("owner_id"), []).append(values)
    return found
