"""The tracker targets a connection's links live in, kept where links are made.

A pull pass reads the connection's default target and every other one its links were made in.
Finding those by ``SELECT DISTINCT scope`` over the links costs a scan of every link of the
connection on every pass (7 ms at 30,000 links), so the set is kept in ``connection_scope``:
``remember_scopes`` runs in the transaction that inserts links (sync/routing.py, and a followed
transfer, sync/transfers.py), and ``scopes_of`` forgets a kept target once none of its links is
left (items and goals deleted take their links with them), each check one index probe.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.models import Connection, ConnectionScope, ExternalLink


def lives_in(link: ExternalLink, connection: Connection, scope: str | None) -> bool:
    """Whether ``link``'s object lives in ``scope`` (None: the connection's default).

    External ids are unique only inside one target (GitHub numbers issues per repository), so a
    tracker object belongs to a link only in the link's own scope. Names compare as the trackers
    compare them, case-insensitively.
    """
    default = connection.scope or ""
    return (link.scope or default).lower() == (scope or default).lower()


def remember_scopes(session: Session, pairs: Iterable[tuple[uuid.UUID, str | None]]) -> None:
    """Keep each (connection, scope) a link is being made in; None is the connection's default."""
    rows = [
        {"connection_id": connection_id, "scope": scope}
        for connection_id, scope in sorted({pair for pair in pairs if pair[1]}, key=str)
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(ConnectionScope).values(rows).on_conflict_do_nothing())


def scopes_of(session: Session, connection: Connection) -> list[str | None]:
    """The connection's default scope (None) and every other scope one of its links lives in."""
    kept = session.execute(
        select(col(ConnectionScope.scope)).where(
            col(ConnectionScope.connection_id) == connection.id
        )
    ).scalars()
    others: list[str] = []
    for scope in list(kept):
        if scope == connection.scope:
            continue
        still_linked = session.execute(
            select(
                exists().where(
                    col(ExternalLink.connection_id) == connection.id,
                    col(ExternalLink.scope) == scope,
                )
            )
        ).scalar()
        if still_linked:
            others.append(scope)
        else:
            _forget(session, connection.id, scope)
    return [None, *sorted(others)]


def _forget(session: Session, connection_id: uuid.UUID, scope: str) -> None:
    session.execute(
        delete(ConnectionScope).where(
            col(ConnectionScope.connection_id) == connection_id,
            col(ConnectionScope.scope) == scope,
        )
    )
    session.commit()
