"""Claiming due outbox rows and attempting each, shared by the notification outbox and the
message outbox.

A worker takes due rows by pushing their next attempt past a lease, in one short transaction that
commits before the slow network part starts. On PostgreSQL the candidates are read ``FOR UPDATE
SKIP LOCKED``, so concurrent workers take disjoint rows without waiting; on both databases the
UPDATE repeats the "still due" condition and returns only the rows it moved, so two workers never
hold one row (SQLite serialises the two UPDATEs, and the second finds the rows no longer due).
A worker that dies only delays its rows until the lease runs out.

The claimed rows are then attempted one by one (``attempt_each``), each read again, attempted and
committed in a transaction of its own, so a slow receiver never holds a writer's transaction; the
HTTP client of a round (``outbound_client``) goes through the address guard.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
from sqlalchemy import ColumnElement, Table, inspect, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from app.settings import Settings
from connectors.outbound import GuardedTransport

REQUEST_TIMEOUT_SECONDS = 10.0

Row = TypeVar("Row", bound=SQLModel)


def claim_due(
    engine: Engine,
    model: type[SQLModel],
    waiting: ColumnElement[bool],
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[uuid.UUID]:
    """Lease up to ``limit`` rows of ``model`` that are ``waiting`` and due by ``now``, oldest due
    first; returns their ids in that order. The model has ``id`` and ``next_attempt_at``."""
    table = inspect(model).local_table
    assert isinstance(table, Table)  # a table model, mapped to one table
    due = waiting & (table.c.next_attempt_at <= now)
    with Session(engine) as session:
        query = (
            select(table.c.id).where(due).order_by(table.c.next_attempt_at, table.c.id).limit(limit)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        candidates = list(session.execute(query).scalars())
        if not candidates:
            session.rollback()
            return []
        moved = set(
            session.execute(
                update(table)
                .where(table.c.id.in_(candidates), due)
                .values(next_attempt_at=now + lease)
                .returning(table.c.id)
                .execution_options(synchronize_session=False)
            ).scalars()
        )
        session.commit()
    return [row_id for row_id in candidates if row_id in moved]


def attempt_each(
    engine: Engine,
    model: type[Row],
    claimed: Sequence[uuid.UUID],
    attempt: Callable[[Session, Row], None],
) -> None:
    """``attempt`` each claimed row of ``model`` in a transaction of its own: the row is read
    again, attempted and committed; a row gone since the claim is skipped."""
    for row_id in claimed:
        with Session(engine, expire_on_commit=False) as session:
            row = session.get(model, row_id)
            if row is None:
                continue
            attempt(session, row)
            session.add(row)
            session.commit()


@contextmanager
def outbound_client(settings: Settings, client: httpx.Client | None) -> Iterator[httpx.Client]:
    """The HTTP client of one round: ``client`` when given (its owner closes it), else one of the
    round's own through the address guard, closed when the round ends."""
    if client is not None:
        yield client
        return
    with httpx.Client(
        transport=GuardedTransport(settings.address_policy), timeout=REQUEST_TIMEOUT_SECONDS
    ) as own:
        yield own
