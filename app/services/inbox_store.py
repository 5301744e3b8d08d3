"""The webhook inbox's store, receiving side: each verified delivery stored once, by group commit.

One interface, ``InboxStore.store(delivery)``, which returns once the delivery is committed: "new",
"duplicate" (its delivery id was stored before: a redelivery, processed once) or "stale" (its
connection changed since the verifier that passed it was loaded, perhaps a revoked secret: nothing
stored, verify it again; see app/services/webhook_verifiers.py).

Group commit: a commit waits for the disk (about 4 ms here), so one transaction per delivery caps a
process at a few hundred a second. Deliveries that arrive together are written by one statement;
while one batch commits the next gathers, so under load batches grow by themselves and a lone
delivery is written at once. A batch is one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` that
stores only the rows whose verifier's version is still their connection's; the unique (connection,
delivery id) key turns a redelivery into a no-op. Nothing else is written: the connection row is
not touched (under load it would be a hot row every receiving request waits on); the worker brings
the connection's pull forward when it processes the delivery (sync/deliveries.py).

Two writers, both built from the columns declared beside the model
(``RECEIVED_DELIVERY_COLUMNS``, app/models/sync.py):

- ``SqlAlchemyWriter`` (SQLite): a transaction in a thread that reads the connections' versions,
  then inserts the fresh rows with one cached statement (SQLAlchemy's "insertmanyvalues");
- ``PostgresWriter``: one statement per batch in autocommit on the store's own connection, on the
  event loop: the rows as one array per column through ``unnest`` (the text never changes with the
  batch size; psycopg parses every new text it is given), the version check as a join. One round
  trip, where a pooled transaction took five (pool ping, BEGIN, read, INSERT, COMMIT) plus a hop to
  a thread and back: at a few hundred deliveries a second per process that was most of a
  delivery's CPU.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import psycopg
from sqlalchemy import JSON, Table, literal, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlmodel import col

from app.models import Connection, WebhookDelivery
from app.models.sync import RECEIVED_DELIVERY_COLUMNS
from app.services.webhook_verifiers import DeliveryVerifier

StoreOutcome = Literal["new", "duplicate", "stale"]
# Headers worth keeping with a delivery (the connector may need them to parse it); never auth
# headers.
KEPT_HEADER_PREFIXES = ("x-", "content-type", "user-agent")
DELIVERY_TABLE: Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
CONNECTION_TABLE: Table = Connection.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ReceivedDelivery:
    """A verified delivery waiting to be stored, with the version of the verifier that passed it.

    ``row`` holds the ``RECEIVED_DELIVERY_COLUMNS``.
    """

    row: dict[str, Any]
    version: datetime

    @property
    def key(self) -> tuple[uuid.UUID, str]:
        return self.row["connection_id"], self.row["delivery_id"]


def received_delivery(
    verifier: DeliveryVerifier,
    delivery_id: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> ReceivedDelivery:
    """The inbox row of one verified delivery (headers trimmed to what the connector may need)."""
    kept = {k.lower(): v for k, v in headers.items() if k.lower().startswith(KEPT_HEADER_PREFIXES)}
    row = {
        "id": uuid.uuid4(),
        "workspace_id": verifier.workspace_id,
        "connection_id": verifier.connection_id,
        "delivery_id": delivery_id,
        "received_at": now,
        "headers": kept,
        "body": body,
    }
    return ReceivedDelivery(row, verifier.version)


class BatchWriter(Protocol):
    """Stores a batch in one transaction; an outcome per delivery, in order."""

    async def write(self, deliveries: Sequence[ReceivedDelivery]) -> list[StoreOutcome]: ...


def _outcomes(
    deliveries: Sequence[ReceivedDelivery],
    inserted: set[tuple[uuid.UUID, str]],
    current: Mapping[uuid.UUID, datetime],
) -> list[StoreOutcome]:
    outcomes: list[StoreOutcome] = []
    answered: set[tuple[uuid.UUID, str]] = set()
    for delivery in deliveries:
        key = delivery.key
        if key in inserted and key not in answered:
            outcomes.append("new")
        elif current.get(key[0]) != delivery.version:
            outcomes.append("stale")
        else:
            # Stored before, or the same delivery twice in one batch: the first is new.
            outcomes.append("duplicate")
        answered.add(key)
    return outcomes


class SqlAlchemyWriter:
    """A batch in one pooled transaction, run in a thread: read the versions, insert the fresh."""

    # One statement per dialect run with a list of rows: SQLAlchemy sends them as multi-row VALUES
    # from a compiled form it caches, instead of compiling a new N-row statement per batch (that
    # cost more CPU than the rest of the request). Columns left out take the model's defaults.
    _INSERTS = {
        name: dialect_insert(WebhookDelivery)
        .on_conflict_do_nothing()
        .returning(col(WebhookDelivery.connection_id), col(WebhookDelivery.delivery_id))
        for name, dialect_insert in (("sqlite", sqlite_insert), ("postgresql", postgres_insert))
    }

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = self._INSERTS[engine.dialect.name]

    async def write(self, deliveries: Sequence[ReceivedDelivery]) -> list[StoreOutcome]:
        return await asyncio.to_thread(self.write_now, deliveries)

    def write_now(self, deliveries: Sequence[ReceivedDelivery]) -> list[StoreOutcome]:
        connection_ids = {delivery.row["connection_id"] for delivery in deliveries}
        versions = select(col(Connection.id), col(Connection.updated_at)).where(
            col(Connection.id).in_(connection_ids)
        )
        with self.engine.begin() as database:
            current = {row[0]: row[1] for row in database.execute(versions)}
            fresh = [
                delivery.row
                for delivery in deliveries
                if current.get(delivery.row["connection_id"]) == delivery.version
            ]
            inserted: set[tuple[uuid.UUID, str]] = set()
            if fresh:
                result = database.execute(self._insert, fresh)
                inserted = {(row[0], row[1]) for row in result}
        return _outcomes(deliveries, inserted, current)


def _postgres_insert_text(dialect: Dialect) -> str:
    """The PostgreSQL batch statement, built from ``RECEIVED_DELIVERY_COLUMNS`` and the model.

    One array parameter per received column, of the column's type (JSON travels as text and is
    cast); the other columns get their model defaults as constants; the join on the connection's
    ``updated_at`` drops a row whose verifier is out of date. The arrays are sent in binary
    (``%(name)b``): in text, psycopg escapes each body's hex form with a regular expression and
    PostgreSQL parses it back, which cost more CPU in the API process than the rest of a delivery
    (10 kB GitHub deliveries).
    """
    received = list(RECEIVED_DELIVERY_COLUMNS)
    arrays, values = [], []
    for name in received:
        column_type = DELIVERY_TABLE.c[name].type
        sql_type = column_type.compile(dialect=dialect)
        if isinstance(column_type, JSON):
            arrays.append(f"%({name})b::text[]")
            values.append(f"CAST(received.{name} AS {sql_type})")
        else:
            arrays.append(f"%({name})b::{sql_type}[]")
            values.append(f"received.{name}")
    defaulted = [
        column
        for column in DELIVERY_TABLE.columns
        if column.name not in received and column.default is not None
    ]
    for column in defaulted:
        assert isinstance(column.default, ScalarElementColumnDefault), column.name
        constant = literal(column.default.arg, column.type)
        values.append(
            str(constant.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        )
    connections = CONNECTION_TABLE.name
    return f"""
        WITH received AS (
            SELECT * FROM unnest({", ".join([*arrays, "%(version)b::timestamptz[]"])})
            AS received ({", ".join([*received, "version"])})
        )
        INSERT INTO {DELIVERY_TABLE.name} ({", ".join(received + [c.name for c in defaulted])})
        SELECT {", ".join(values)}
        FROM received
        JOIN {connections}
            ON {connections}.id = received.connection_id
            AND {connections}.updated_at = received.version
        ON CONFLICT DO NOTHING
        RETURNING connection_id, delivery_id
    """


class PostgresWriter:
    """A batch in one autocommit statement on the store's own connection, on the event loop.

    A connection error is retried once on a new connection (storing is idempotent by delivery id,
    so a batch committed just before the error answers "duplicate", still a 202).
    """

    VERSIONS = "SELECT id, updated_at FROM connection WHERE id = ANY(%s::uuid[])"

    def __init__(self, engine: Engine) -> None:
        self._insert = _postgres_insert_text(engine.dialect)
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._connection: psycopg.AsyncConnection[Any] | None = None

    async def write(self, deliveries: Sequence[ReceivedDelivery]) -> list[StoreOutcome]:
        for attempt in range(2):
            try:
                return await self._write(deliveries)
            except psycopg.OperationalError as exc:
                await self.close()
                if attempt:
                    raise OperationalError("storing webhook deliveries", None, exc) from exc
        raise AssertionError("unreachable")

    async def _write(self, deliveries: Sequence[ReceivedDelivery]) -> list[StoreOutcome]:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True
            )
        cursor = await self._connection.execute(self._insert, _arrays(deliveries))
        inserted = {(row[0], row[1]) for row in await cursor.fetchall()}
        if len(inserted) < len(deliveries):  # redeliveries, or a connection that changed
            ids = list({delivery.row["connection_id"] for delivery in deliveries})
            cursor = await self._connection.execute(self.VERSIONS, (ids,))
            current = {row[0]: row[1] for row in await cursor.fetchall()}
        else:
            current = {delivery.key[0]: delivery.version for delivery in deliveries}
        return _outcomes(deliveries, inserted, current)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            await connection.close()


def _arrays(deliveries: Sequence[ReceivedDelivery]) -> dict[str, list[Any]]:
    """The batch as one array per received column (and the verifiers' versions)."""
    arrays: dict[str, list[Any]] = {
        name: [delivery.row[name] for delivery in deliveries] for name in RECEIVED_DELIVERY_COLUMNS
    }
    for name in RECEIVED_DELIVERY_COLUMNS:
        if isinstance(DELIVERY_TABLE.c[name].type, JSON):
            arrays[name] = [json.dumps(value) for value in arrays[name]]
    arrays["version"] = [delivery.version for delivery in deliveries]
    return arrays


class InboxStore:
    """The receiving side's inbox: ``store`` one delivery, answered once its batch is committed.

    One per event loop (a batch's futures belong to the loop that awaits them).
    """

    def __init__(self, engine: Engine, max_rows: int = 500) -> None:
        self.max_rows = max_rows
        self._writer: BatchWriter = (
            PostgresWriter(engine)
            if engine.dialect.name == "postgresql"
            else SqlAlchemyWriter(engine)
        )
        self._pending: list[tuple[ReceivedDelivery, asyncio.Future[StoreOutcome]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, delivery: ReceivedDelivery) -> StoreOutcome:
        """Store one delivery once committed: new, a duplicate, or stale (verify it again)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoreOutcome] = loop.create_future()
        self._pending.append((delivery, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_rows]
            del self._pending[: self.max_rows]
            try:
                outcomes = await self._writer.write([delivery for delivery, _future in batch])
            except Exception as exc:  # e.g. the database restarting: each request answers it
                for _delivery, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_delivery, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():  # the client may have gone away meanwhile
                    future.set_result(outcome)
