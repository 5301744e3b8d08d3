"""Objects a person moved to another target of the same tracker (a GitHub issue transferred to
another repository), reported by the connector as ``ObjectMoved``.

A move into a scope the connection syncs (its own, or one its links were made in,
sync/link_scopes.py) is followed: the link names the object where it now lives, and the item's
scope says the same, so routing (sync/routing.py) sees no move of its own to make. A move anywhere
else takes the object out of planbridge's reach: the link is tombstoned with the reason, and an
event says where the object went.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from app.models import ActionItem, Connection, ExternalLink
from app.models.planning import EventKind, EventSource
from app.services.item_history import EventSubject, record_event
from connectors.base import ObjectMoved, RemoteRef
from sync.context import EngineContext
from sync.link_scopes import lives_in, remember_scopes, scopes_of

log = logging.getLogger("planbridge.sync")


def follow_transfer(
    context: EngineContext,
    connection: Connection,
    ref: RemoteRef,
    moved: ObjectMoved,
    scope: str | None = None,
) -> bool:
    """Follow or record the move of the object ``ref`` (in ``scope``); True if a link changed."""
    now = context.clock.now()
    with Session(context.engine) as session:
        candidates = session.exec(
            select(ExternalLink).where(
                ExternalLink.connection_id == connection.id,
                ExternalLink.external_id == ref.external_id,
                col(ExternalLink.moved_at).is_(None),
                col(ExternalLink.tombstoned_at).is_(None),
            )
        ).all()
        link = next((c for c in candidates if lives_in(c, connection, scope)), None)
        if link is None:
            return False
        synced = {(connection.scope or "").lower()} | {
            s.lower() for s in scopes_of(session, connection) if s
        }
        inside = moved.scope.lower() in synced
        item = session.get(ActionItem, link.item_id) if link.item_id else None
        if item is not None:
            record_event(
                session,
                EventSubject(link.workspace_id, item.id, item.goal_id),
                EventKind.sync,
                source=EventSource.tracker,
                actor=f"{connection.kind}:{connection.name}",
                field="tracker_transfer",
                from_value=link.key,
                to_value=moved.ref.key,
                data={"to_scope": moved.scope, "followed": inside},
                at=now,
            )
        if inside:
            link.scope = moved.scope
            link.external_id = moved.ref.external_id
            link.key = moved.ref.key
            link.url = moved.ref.url
            link.last_error = None
            remember_scopes(session, [(connection.id, moved.scope)])
            if item is not None:
                item.scope = moved.scope
                session.add(item)
            log.info("link %s follows its object to %s", link.id, moved.ref.key)
        else:
            link.tombstoned_at = now
            link.last_error = (
                f"moved out of scope: {moved}; this connection does not sync {moved.scope}"
            )[:1000]
            log.info("link %s: its object moved out of scope, to %s", link.id, moved.ref.key)
        session.add(link)
        session.commit()
    return True
