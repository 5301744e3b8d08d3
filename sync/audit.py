"""The slow audit: every link's tracker object is re-read at least once per audit interval.

Pulls read what changed and webhooks say what happened; neither shows an object a person deleted
where no webhook reaches planbridge (GitHub's poll answers 304 for ever), nor one that left the
poll's filter (a GitHub issue whose planbridge label was removed, then closed). So after each pull
pass the engine re-reads a slice of the connection's links, least recently audited first, with the
connector's cheapest read (``connectors.base.AuditingConnector``).

The slice is sized so that passes at the connection's poll interval cover every link within
``settings.audit_interval_hours``, and a link is due again only one poll interval before its
interval is up: extra passes (a webhook's pull) add no reads, so the cost is about one read per
link per interval, in the tracker's batches (links / 100 requests a day on Jira and on Trello, and
on GitHub one conditional request per link that is free when it answers 304).

A missing object is tombstoned only after ``fetch_item`` proves it gone (404/410), never on an
error; a found object is applied like a pulled change (one older than the link's is ignored).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Connection, ExternalLink
from app.models.sync import LIVE_LINK
from connectors.base import AuditingConnector, AuditResult, Connector, RemoteRef
from sync.context import EngineContext
from sync.pull import apply_remote_item, confirm_vanished
from sync.retry import call_with_retries


def audit_quota(total: int, poll: timedelta, interval: timedelta, batch_size: int) -> int:
    """Links one pass audits so that passes every ``poll`` cover ``total`` within ``interval``,
    rounded up to whole batches (a part-filled batch costs as much as a full one)."""
    if total <= 0:
        return 0
    passes = max(1, math.floor(interval / poll))
    per_pass = math.ceil(total / passes)
    return math.ceil(per_pass / batch_size) * batch_size


def _auditable(connection_id: uuid.UUID) -> list[Any]:
    """Links whose object exists as far as planbridge knows: created, not tombstoned, not moved."""
    return [
        ExternalLink.connection_id == connection_id,
        col(ExternalLink.external_id).is_not(None),
        col(ExternalLink.tombstoned_at).is_(None),
        LIVE_LINK,
    ]


def due_links(
    session: Session, connection: Connection, batch_size: int, interval: timedelta, now: datetime
) -> list[ExternalLink]:
    """This pass's slice: links never audited or audited longest ago, at most the quota."""
    poll = timedelta(seconds=connection.poll_interval_seconds)
    total = session.exec(
        select(func.count()).select_from(ExternalLink).where(*_auditable(connection.id))
    ).one()
    quota = audit_quota(int(total), poll, interval, batch_size)
    if quota == 0:
        return []
    # Due one poll before the interval is up, so the next pass audits it in time. A link never
    # audited counts from its creation: the create (or adoption) read the object then.
    due_before = now - max(interval - poll, interval / 2)
    last_read = func.coalesce(ExternalLink.last_audited_at, ExternalLink.created_at)
    return list(
        session.exec(
            select(ExternalLink)
            .where(*_auditable(connection.id), last_read <= due_before)
            # Ties (links made together) in external id order: Trello's card ids sort by
            # creation, so a slice is one range of ids, read in one board listing.
            .order_by(last_read, col(ExternalLink.external_id), col(ExternalLink.id))
            .limit(quota)
        ).all()
    )


def audit_connection(context: EngineContext, connection_id: uuid.UUID) -> dict[str, int]:
    """One audit slice of a claimed connection; connector errors propagate (nothing of the
    failing batch is applied or tombstoned)."""
    counts = {"audited": 0, "applied": 0, "vanished": 0}
    interval = timedelta(hours=context.settings.audit_interval_hours)
    with Session(context.engine, expire_on_commit=False) as session:
        connection = session.get(Connection, connection_id)
        if connection is None:
            return counts
        connector = context.connector(connection)
        if not isinstance(connector, AuditingConnector):
            return counts
        links = due_links(
            session, connection, connector.audit_batch_size, interval, context.clock.now()
        )
    by_scope: dict[str | None, list[ExternalLink]] = defaultdict(list)
    for link in links:
        by_scope[link.scope].append(link)
    for scope, scoped in by_scope.items():
        scoped_connector = context.connector(connection, scope)
        if not isinstance(scoped_connector, AuditingConnector):
            continue
        size = scoped_connector.audit_batch_size
        for start in range(0, len(scoped), size):
            batch = scoped[start : start + size]
            _audit_batch(context, scoped_connector, connection, scope, batch, counts)
    return counts


def _audit_batch(
    context: EngineContext,
    connector: Connector,
    connection: Connection,
    scope: str | None,
    links: list[ExternalLink],
    counts: dict[str, int],
) -> None:
    if not isinstance(connector, AuditingConnector):
        return
    refs = [RemoteRef(str(link.external_id), key=link.key, url=link.url) for link in links]
    validators = {
        str(link.external_id): link.audit_validator for link in links if link.audit_validator
    }
    result: AuditResult = call_with_retries(
        context.retry_policy, lambda: connector.audit(refs, validators)
    )
    actor = f"{connection.kind}:{connection.name}"
    missing = list(result.missing)
    with Session(context.engine) as session:
        # Lock in id order, as every transaction that changes several links does.
        session.exec(
            select(ExternalLink.id)
            .where(col(ExternalLink.id).in_(sorted(link.id for link in links)))
            .order_by(col(ExternalLink.id))
            .with_for_update()
        ).all()
        now = context.clock.now()
        for remote in result.found:
            outcome = apply_remote_item(session, connection, remote, now, actor, scope)
            if outcome == "applied":
                counts["applied"] += 1
            elif outcome == "vanished":
                missing.append(remote.ref)
        seen = {ref.external_id for ref in [*result.unchanged, *(r.ref for r in result.found)]}
        _mark_audited(session, links, seen, result.validators, now)
        session.commit()
    counts["audited"] += len(seen)
    for ref in missing:
        # A second, single read proves it: only a successful "gone" answer tombstones.
        if confirm_vanished(context, connector, connection, ref, scope):
            counts["vanished"] += 1
        with Session(context.engine) as session:
            _mark_audited(session, links, {ref.external_id}, {}, context.clock.now())
            session.commit()
        counts["audited"] += 1


def _mark_audited(
    session: Session,
    links: list[ExternalLink],
    external_ids: set[str],
    validators: dict[str, str],
    now: datetime,
) -> None:
    for link in links:
        if link.external_id not in external_ids:
            continue
        row = session.get(ExternalLink, link.id)
        if row is None:
            continue
        row.last_audited_at = now
        if str(link.external_id) in validators:
            row.audit_validator = validators[str(link.external_id)][:200]
        session.add(row)
