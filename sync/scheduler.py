"""Leases: how workers claim work without stepping on each other.

A unit of work (a connection's pull pass, a link's push, a webhook delivery) is claimed by writing
``leased_by`` (the worker's id) and ``lease_until`` on its row. A lease nobody renews expires, so a
worker that died (SIGKILL, lost host) only delays its work by ``settings.sync_lease_seconds``.

Claiming is one short transaction: select candidate ids, then
``UPDATE ... SET leased_by, lease_until WHERE id IN (...) AND lease is free RETURNING id``.
On PostgreSQL the select is ``FOR UPDATE SKIP LOCKED``, so concurrent workers on any number of hosts
take disjoint rows without waiting for each other. On SQLite (one box, the embedded worker and
perhaps a few threads) the database lock serialises writers and the conditional UPDATE alone decides
who wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, inspect, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel


def leased_table(model: type[SQLModel]) -> Table:
    """The table of a leased model (Connection, ExternalLink or WebhookDelivery).

    Each has the columns ``id``, ``leased_by`` and ``lease_until``.
    """
    table = inspect(model).local_table
    assert isinstance(table, Table)  # a table model, mapped to one table
    return table


def lease_is_free(table: Table, now: datetime) -> ColumnElement[bool]:
    return or_(table.c.lease_until.is_(None), table.c.lease_until < now)


def claim(
    engine: Engine,
    model: type[SQLModel],
    *,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    conditions: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any] = (),
    joins: Sequence[tuple[Any, Any]] = (),
    limit: int = 10,
) -> list[uuid.UUID]:
    """Lease up to ``limit`` rows matching ``conditions``; returns the ids this worker now holds."""
    table = leased_table(model)
    with Session(engine) as session:
        query = select(table.c.id)
        for target, on_clause in joins:
            query = query.join(target, on_clause, isouter=True)
        query = query.where(lease_is_free(table, now), *conditions).order_by(*order_by).limit(limit)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=table)
        candidates = list(session.execute(query).scalars())
        if not candidates:
            session.rollback()
            return []
        result = session.execute(
            update(table)
            .where(table.c.id.in_(candidates), lease_is_free(table, now))
            .values(leased_by=worker_id, lease_until=now + lease)
            .returning(table.c.id)
            .execution_options(synchronize_session=False)
        )
        claimed = list(result.scalars())
        session.commit()
    return claimed


def release_by_id(engine: Engine, model: type[SQLModel], row_id: uuid.UUID, worker_id: str) -> None:
    table = leased_table(model)
    with Session(engine) as session:
        session.execute(
            update(table)
            .where(table.c.id == row_id, table.c.leased_by == worker_id)
            .values(leased_by=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def renew(
    engine: Engine, model: type[SQLModel], row_id: uuid.UUID, worker_id: str, until: datetime
) -> bool:
    """Extend a held lease before working on the row; False when another worker took it over."""
    table = leased_table(model)
    with Session(engine) as session:
        result = session.execute(
            update(table)
            .where(table.c.id == row_id, table.c.leased_by == worker_id)
            .values(lease_until=until)
            .returning(table.c.id)
            .execution_options(synchronize_session=False)
        )
        held = result.first() is not None
        session.commit()
    return held
