"""Pull: read what changed in a tracker and record it on the items.

One pass per connection (on its interval, and at once after a webhook): ``fetch_changes(cursor)``
page by page, where the cursor is what the connector handed back last time (with its own lookback
window and boundary set), kept per scope in ``Connection.cursor`` and saved only after the page's
changes are stored. Cost grows with the number of changes, not the number of items.

Rules that keep a misbehaving tracker from doing damage:
- an event older than (or as old as) the stored ``remote_updated_at`` is never applied;
- an object reported deleted, or missing, is tombstoned only after ``fetch_item`` returns None from
  a successful call; an error anywhere aborts the pass before anything of it is applied.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.models import ActionItem, Connection, ExternalLink, Person
from app.models.planning import EventKind, EventSource, ItemStatus
from app.services.item_history import EventSubject, record_event
from connectors.base import Connector, ObjectMoved, RemoteItem, RemoteRef
from sync.context import EngineContext
from sync.link_scopes import lives_in, scopes_of
from sync.retry import call_with_retries
from sync.routing import identity_key
from sync.transfers import follow_transfer

MAX_PAGES_PER_PASS = 50
# Owned fields a person may edit in the tracker and every connector reads back; a difference from
# what planbridge wrote is drift. Not here: the estimate (only Jira holds one, as time tracking),
# labels (planbridge writes none of its own: the marker and the goal's label or epic are links,
# and teams put status labels on issues), the parent (the goal mirror link, not a person's edit).
DRIFT_FIELDS = ("title", "description", "due_date", "assignee")


def find_link(
    session: Session, connection: Connection, remote: RemoteItem, scope: str | None = None
) -> ExternalLink | None:
    """The link of a tracker object in ``scope`` (None: the connection's default): by external
    id, else by the marker's item id (adopting it)."""
    link = link_of(session, connection, remote.ref, scope)
    if link is None and remote.item_id is not None:
        link = session.exec(
            select(ExternalLink).where(
                ExternalLink.connection_id == connection.id,
                or_(
                    col(ExternalLink.item_id) == remote.item_id,
                    col(ExternalLink.goal_id) == remote.item_id,
                ),
                # Not a link the item moved away from: its object is history, not the item.
                col(ExternalLink.moved_at).is_(None),
            )
        ).first()
        if link is not None and not lives_in(link, connection, scope):
            return None  # the item lives in another target: an object here is not its own
        if link is not None and link.external_id not in (None, remote.ref.external_id):
            return None  # a second object with our marker (made by hand): not ours to follow
    return link


def link_of(
    session: Session, connection: Connection, ref: RemoteRef, scope: str | None
) -> ExternalLink | None:
    """The link whose object is ``ref`` in ``scope``: ids repeat across a connection's targets."""
    candidates = session.exec(
        select(ExternalLink).where(
            ExternalLink.connection_id == connection.id,
            ExternalLink.external_id == ref.external_id,
        )
    ).all()
    return next((link for link in candidates if lives_in(link, connection, scope)), None)


def comparable_text(text: str | None) -> str:
    """A description as compared for drift, without what trackers' editors change on their own.

    Line endings, trailing spaces and outer blank lines do not count: editors change them without
    a person meaning anything.
    """
    lines = (text or "").replace("\r\n", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def drift_value(name: str, remote: RemoteItem) -> Any:
    """The tracker's value of an owned field, in the JSON form ``pushed_fields`` keeps."""
    if name == "description":
        return comparable_text(remote.description)  # connectors strip their marker already
    value: date | str | None = getattr(remote, name)
    return value.isoformat() if isinstance(value, date) else value


def _pushed_value(name: str, pushed: Any) -> Any:
    return comparable_text(pushed) if name == "description" else pushed


def _owner_of(session: Session, workspace_id: uuid.UUID, kind: str, identity: Any) -> str | None:
    """The person whose identity for ``kind`` is ``identity`` (a drifted assignee), if any."""
    if not identity:
        return None
    people = session.exec(select(Person).where(Person.workspace_id == workspace_id)).all()
    found = next((p for p in people if (p.identities or {}).get(kind) == identity), None)
    return str(found.id) if found else None


def record_remote_fields(
    session: Session,
    link: ExternalLink,
    item: ActionItem | None,
    remote: RemoteItem,
    *,
    identity_kind: str,
    actor: str,
    now: datetime,
    just_written: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The link's ``remote_fields`` updated from ``remote``, with a drift event per edited field.

    A person changed an owned field when it differs from what planbridge last wrote and from what
    the tracker said before. Fields in ``just_written`` were written by the push that read
    ``remote`` back: their value is the tracker's rendering of ours (Jira turns Markdown into ADF
    and back), so it becomes the reference without being compared.
    """
    remote_fields = dict(link.remote_fields)
    for name in DRIFT_FIELDS:
        value = drift_value(name, remote)
        pushed = link.pushed_fields.get(name)
        drifted = (
            item is not None
            and name not in just_written
            and name in link.pushed_fields
            and value != _pushed_value(name, pushed)
            and value != remote_fields.get(name)
        )
        if drifted and item is not None:
            data: dict[str, Any] = {"key": remote.ref.key}
            if name == "assignee":
                data["identity_kind"] = identity_kind
                data["person_id"] = _owner_of(session, item.workspace_id, identity_kind, value)
            record_event(
                session,
                EventSubject.snapshot_of(item),
                EventKind.drift,
                source=EventSource.tracker,
                actor=actor,
                field=name,
                from_value=None if pushed is None else str(pushed),
                to_value=None if value is None else str(value),
                data=data,
                at=now,
            )
        remote_fields[name] = value
    return remote_fields


def apply_remote_item(
    session: Session,
    connection: Connection,
    remote: RemoteItem,
    now: datetime,
    actor: str,
    scope: str | None = None,
) -> str:
    """Record one tracker object's state (read in ``scope``, None: the connection's default);
    returns "applied", "stale", "unknown" or "vanished"."""
    return apply_to_link(
        session, connection, find_link(session, connection, remote, scope), remote, now, actor
    )


def apply_to_link(
    session: Session,
    connection: Connection,
    link: ExternalLink | None,
    remote: RemoteItem,
    now: datetime,
    actor: str,
) -> str:
    """``apply_remote_item`` once the object's link was found (a webhook batch finds the links
    of all its objects with one query, sync/deliveries.py)."""
    if link is None or link.moved_at is not None:
        # Unknown, or the object of a link the item moved away from (closed out as moved: its
        # status is not the item's).
        return "unknown"
    # Strictly older only: trackers with one-second timestamps (GitHub) give a change made in the
    # same second as the last one an equal time, and applying the same state twice is harmless.
    if link.remote_updated_at is not None and remote.updated_at < link.remote_updated_at:
        return "stale"
    if remote.deleted:
        return "vanished"
    link.external_id = link.external_id or remote.ref.external_id
    link.key = link.key or remote.ref.key
    link.url = link.url or remote.ref.url
    link.remote_updated_at = remote.updated_at
    link.last_synced_at = now
    remote_fields = dict(link.remote_fields)
    remote_fields["status"] = remote.status.value
    item = session.get(ActionItem, link.item_id) if link.item_id else None
    if item is not None:
        new_status = ItemStatus(remote.status.value)
        if new_status != item.status:
            record_event(
                session,
                EventSubject.snapshot_of(item, new_status),
                EventKind.status,
                source=EventSource.tracker,
                actor=actor,
                field="status",
                from_value=item.status.value,
                to_value=new_status.value,
                data={"raw_status": remote.raw_status, "key": remote.ref.key},
                at=now,
            )
            item.status = new_status
            item.done_at = remote.updated_at if new_status == ItemStatus.done else None
            item.updated_at = now
        link.remote_fields = remote_fields
        remote_fields = record_remote_fields(
            session,
            link,
            item,
            remote,
            identity_kind=identity_key(connection),
            actor=actor,
            now=now,
        )
        item.last_activity_at = max(item.last_activity_at, remote.updated_at)
        session.add(item)
    link.remote_fields = remote_fields
    session.add(link)
    return "applied"


def confirm_vanished(
    context: EngineContext,
    connector: Connector,
    connection: Connection,
    ref: RemoteRef,
    scope: str | None = None,
) -> bool:
    """Tombstone the link of ``ref`` if a successful fetch proves it gone, or follow its move.

    A move is followed where the tracker says the object went (sync/transfers.py); other errors
    propagate.
    """
    try:
        found = call_with_retries(context.retry_policy, lambda: connector.fetch_item(ref))
    except ObjectMoved as moved:
        return follow_transfer(context, connection, ref, moved, scope)
    if found is not None:
        return False
    now = context.clock.now()
    with Session(context.engine) as session:
        link = link_of(session, connection, ref, scope)
        if link is None or link.tombstoned_at is not None:
            return False
        link.tombstoned_at = now
        session.add(link)
        if link.item_id is not None:
            item = session.get(ActionItem, link.item_id)
            record_event(
                session,
                EventSubject(link.workspace_id, link.item_id, item.goal_id if item else None),
                # A sync fact, not the item's deletion: the item stays in its plan and keeps
                # counting (a ``deleted`` event would take its hours out of the goal's ledger).
                EventKind.sync,
                source=EventSource.tracker,
                actor=f"{connection.kind}:{connection.name}",
                field="tracker_deleted",
                from_value=link.key,
                data={"connection_id": str(connection.id), "external_id": ref.external_id},
                at=now,
            )
        session.commit()
    return True


def pull_scope(
    context: EngineContext, connection: Connection, scope: str | None, cursor: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """Read every page of changes for one scope; returns the new cursor and counts."""
    connector = context.connector(connection, scope)
    actor = f"{connection.kind}:{connection.name}"
    counts = {"pages": 0, "applied": 0, "stale": 0, "unknown": 0, "vanished": 0}
    for _ in range(MAX_PAGES_PER_PASS):
        page = call_with_retries(context.retry_policy, partial(connector.fetch_changes, cursor))
        counts["pages"] += 1
        vanished: list[RemoteRef] = list(page.deleted)
        with Session(context.engine, expire_on_commit=False) as session:
            _lock_links_in_id_order(session, connection.id, page.items)
            now = context.clock.now()
            for remote in page.items:
                outcome = apply_remote_item(session, connection, remote, now, actor, scope)
                counts[outcome] += 1
                if outcome == "vanished":
                    vanished.append(remote.ref)
            session.commit()
        for ref in vanished:
            if confirm_vanished(context, connector, connection, ref, scope):
                counts["vanished"] += 1
        cursor = page.cursor
        _save_cursor(context, connection.id, scope, cursor)
        if not page.has_more:
            break
    return cursor, counts


def _lock_links_in_id_order(
    session: Session, connection_id: uuid.UUID, remotes: list[RemoteItem]
) -> None:
    """Lock the links a page changes before changing any, in id order.

    Every transaction that changes several links (a resync, a webhook batch) locks them in id
    order, so that none waits in a cycle.
    """
    external_ids = sorted({remote.ref.external_id for remote in remotes})
    if not external_ids:
        return
    session.exec(
        select(ExternalLink.id)
        .where(
            ExternalLink.connection_id == connection_id,
            col(ExternalLink.external_id).in_(external_ids),
        )
        .order_by(col(ExternalLink.id))
        .with_for_update()
    ).all()


def _save_cursor(
    context: EngineContext, connection_id: uuid.UUID, scope: str | None, cursor: dict[str, Any]
) -> None:
    with Session(context.engine) as session:
        row = session.get(Connection, connection_id)
        if row is None:
            return
        cursors = dict(row.cursor or {})
        cursors[scope or ""] = cursor
        row.cursor = cursors
        session.add(row)
        session.commit()


def pull_connection(context: EngineContext, connection_id: uuid.UUID) -> dict[str, int]:
    """One pull pass over all scopes of a claimed connection; connector errors propagate."""
    with Session(context.engine, expire_on_commit=False) as session:
        connection = session.get(Connection, connection_id)
        if connection is None:
            return {}
        scopes = scopes_of(session, connection)
    totals: dict[str, int] = {}
    for scope in scopes:
        cursor = (connection.cursor or {}).get(scope or "")
        _, counts = pull_scope(context, connection, scope, cursor)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals
