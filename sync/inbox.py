"""The webhook inbox, receiving side: verify a delivery, store it once, answer at once.

The signature is checked by the connector in constant time against the current webhook secret and,
during a rotation's grace period, the previous one, through a per-process cache of verifiers (no
connector built, no secret decrypted per delivery); a delivery that fails is answered 401 and
nothing is stored. A verified delivery is one row of a group-committed
``INSERT ... ON CONFLICT DO NOTHING`` under its delivery id; the unique (connection, delivery id)
key turns a redelivery into a no-op, so it is processed once.

Secrets changed by another process: each verifier remembers the connection's ``updated_at`` (every
edit of a connection sets it, a rotation included), and the transaction that stores a batch reads
the current ``updated_at`` of its connections (one indexed read per batch, not per delivery). A
delivery verified by an out-of-date verifier is not stored: the route reloads the verifier and
checks the signature again. So a revoked secret (a rotation with no grace) stops verifying in every
API process as soon as the rotation commits, without a cache window and without a database read
per delivery; the cache's TTL only bounds memory, never correctness.

Processing is the engine's (sync/deliveries.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from app.models import Connection, WebhookDelivery
from app.services.connections import connector_settings, webhook_secrets
from app.settings import Settings
from connectors.base import Connector, Invalid
from connectors.registry import build_connector

log = logging.getLogger("planbridge.sync")

# Headers worth keeping with a delivery (the connector may need them to parse it); never auth
# headers.
KEPT_HEADER_PREFIXES = ("x-", "content-type", "user-agent")

StoreOutcome = Literal["new", "duplicate", "stale"]


class DeliveryVerifier:
    """What receiving a delivery needs of its connection, loaded once and kept for a few seconds.

    One connector per valid secret is built when the connection is loaded, not per delivery:
    building one decrypts the credentials and validates the config (milliseconds), while checking
    an HMAC takes microseconds. ``verify_webhook`` and ``webhook_delivery_id`` use no HTTP session,
    so the connectors are shared by the threads that receive deliveries. ``version`` is the
    connection's ``updated_at`` when it was loaded: storing checks it (see the module docstring).
    """

    def __init__(self, settings: Settings, connection: Connection, now: datetime) -> None:
        self.connection_id = connection.id
        self.workspace_id = connection.workspace_id
        self.version = connection.updated_at
        self.loaded_at = time.monotonic()
        # The previous secret verifies only until its grace ends, even while this is cached.
        previous_until = connection.previous_webhook_secret_until
        self._signers: list[tuple[Connector, datetime | None]] = []
        for index, secret in enumerate(webhook_secrets(settings, connection, now)):
            values = connector_settings(settings, connection, webhook_secret=secret)
            self._signers.append(
                (build_connector(connection.kind, values), previous_until if index else None)
            )
        self._reader = build_connector(connection.kind, connector_settings(settings, connection))

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
        """True when the body is signed with the current (or, in its grace, the previous) secret."""
        return any(
            (until is None or until > now) and connector.verify_webhook(headers, body)
            for connector, until in self._signers
        )

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        """The connector's delivery id; ``Invalid`` when the body cannot be named at all.

        Any other error is a connector's bug, which must not lose a signed delivery nor answer
        500: the delivery is stored under a hash of its body, and processing records what fails.
        """
        try:
            return self._reader.webhook_delivery_id(headers, body)[:200]
        except Invalid:
            raise
        except Exception:
            log.exception("connection %s: no delivery id for a signed delivery", self.connection_id)
            return "sha256:" + hashlib.sha256(body).hexdigest()

    def close(self) -> None:
        for connector, _until in self._signers:
            connector.close()
        self._reader.close()


class VerifierCache:
    """Per-process cache of ``DeliveryVerifier`` by connection id, each kept ``ttl_seconds``.

    An edit of a connection through this process (a rotated secret, new credentials, a delete)
    drops its entry at once (``forget_changed_connection``); another process's edit is caught when
    the delivery is stored (the version check) and by the TTL. A delivery that fails verification
    against an entry older than a second reloads it once, so a secret rotated elsewhere verifies at
    once, without a forged flood reaching the database more than once a second per connection.
    """

    def __init__(self, settings: Settings, engine: Engine, ttl_seconds: float = 5.0) -> None:
        self.settings = settings
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self._entries: dict[uuid.UUID, DeliveryVerifier] = {}
        self._lock = threading.Lock()
        _CACHES.add(self)

    def cached(self, connection_id: uuid.UUID) -> DeliveryVerifier | None:
        """The fresh entry, or None when it must be loaded (no database access here)."""
        found = self._entries.get(connection_id)
        if found is None or time.monotonic() - found.loaded_at > self.ttl_seconds:
            return None
        return found

    def load(self, connection_id: uuid.UUID, now: datetime) -> DeliveryVerifier | None:
        """Read the connection and cache its verifier; None when there is no such connection."""
        with Session(self.engine, expire_on_commit=False) as session:
            connection = session.get(Connection, connection_id)
        if connection is None:
            self.invalidate(connection_id)
            return None
        verifier = DeliveryVerifier(self.settings, connection, now)
        with self._lock:
            stale = self._entries.get(connection_id)
            self._entries[connection_id] = verifier
        if stale is not None:
            stale.close()
        return verifier

    def invalidate(self, connection_id: uuid.UUID) -> None:
        with self._lock:
            stale = self._entries.pop(connection_id, None)
        if stale is not None:
            stale.close()

    def verify(
        self, connection_id: uuid.UUID, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> DeliveryVerifier | bool | None:
        """The verifier when the delivery is signed, False when not, None: no such connection."""
        verifier = self.cached(connection_id) or self.load(connection_id, now)
        if verifier is None:
            return None
        if verifier.verify(headers, body, now):
            return verifier
        if time.monotonic() - verifier.loaded_at > 1.0:
            reloaded = self.load(connection_id, now)
            if reloaded is None:
                return None
            return reloaded if reloaded.verify(headers, body, now) else False
        return False

    def reverify(
        self, connection_id: uuid.UUID, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> DeliveryVerifier | bool | None:
        """Like ``verify`` against a freshly loaded verifier (the cached one was out of date)."""
        verifier = self.load(connection_id, now)
        if verifier is None:
            return None
        return verifier if verifier.verify(headers, body, now) else False


_CACHES: weakref.WeakSet[VerifierCache] = weakref.WeakSet()


def forget_changed_connection(_mapper: object, _connection: object, target: Connection) -> None:
    """After an ORM update or delete of a connection (a hook of ``app.session_hooks``): the
    receivers of this process drop its verifier, so a rotated secret counts at once."""
    for cache in list(_CACHES):
        cache.invalidate(target.id)


@dataclass(frozen=True, slots=True)
class ReceivedDelivery:
    """A verified delivery waiting to be stored, with the version of the verifier that passed it."""

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
        "attempts": 0,
        "dead": False,
    }
    return ReceivedDelivery(row, verifier.version)


# One statement per dialect run with a list of rows: SQLAlchemy sends them as multi-row VALUES
# from a compiled form it caches ("insertmanyvalues"), instead of compiling a new N-row statement
# per batch (that cost more CPU than the rest of the request).
_INSERTS: dict[str, Any] = {
    "sqlite": sqlite_insert(WebhookDelivery)
    .on_conflict_do_nothing()
    .returning(col(WebhookDelivery.connection_id), col(WebhookDelivery.delivery_id)),
    "postgresql": postgres_insert(WebhookDelivery)
    .on_conflict_do_nothing()
    .returning(col(WebhookDelivery.connection_id), col(WebhookDelivery.delivery_id)),
}

# PostgreSQL: one statement, so one round trip in autocommit: the rows as one array per column
# (the text never changes with the batch size; psycopg parses every new text it is given), and
# the version check as a join, so a row whose verifier is out of date is simply not inserted.
_POSTGRES_INSERT = """
    WITH received AS (
        SELECT * FROM unnest(
            %(ids)s::uuid[], %(workspace_ids)s::uuid[], %(connection_ids)s::uuid[],
            %(delivery_ids)s::text[], %(received_at)s::timestamptz[], %(headers)s::text[],
            %(bodies)s::bytea[], %(versions)s::timestamptz[]
        ) AS received (
            id, workspace_id, connection_id, delivery_id, received_at, headers, body, version
        )
    )
    INSERT INTO webhook_delivery
        (id, workspace_id, connection_id, delivery_id, received_at, headers, body, attempts, dead)
    SELECT received.id, received.workspace_id, received.connection_id, received.delivery_id,
        received.received_at, CAST(received.headers AS json), received.body, 0, false
    FROM received
    JOIN connection
        ON connection.id = received.connection_id AND connection.updated_at = received.version
    ON CONFLICT DO NOTHING
    RETURNING connection_id, delivery_id
"""
_POSTGRES_VERSIONS = "SELECT id, updated_at FROM connection WHERE id = ANY(%s::uuid[])"


def _columns(deliveries: Sequence[ReceivedDelivery]) -> dict[str, list[Any]]:
    rows = [delivery.row for delivery in deliveries]
    return {
        "versions": [delivery.version for delivery in deliveries],
        "ids": [row["id"] for row in rows],
        "workspace_ids": [row["workspace_id"] for row in rows],
        "connection_ids": [row["connection_id"] for row in rows],
        "delivery_ids": [row["delivery_id"] for row in rows],
        "received_at": [row["received_at"] for row in rows],
        "headers": [json.dumps(row["headers"]) for row in rows],
        "bodies": [row["body"] for row in rows],
    }


def store_deliveries(engine: Engine, deliveries: Sequence[ReceivedDelivery]) -> list[StoreOutcome]:
    """Insert the deliveries not seen before, in one transaction; an outcome for each, in order.

    ``stale``: the connection changed since its verifier was loaded (or is gone), so the delivery
    was not stored and must be verified again. Nothing else is written: the connection row is not
    touched (under load it would be a hot row every receiving request waits on); the worker brings
    the connection's pull forward when it processes the delivery. (The route stores through
    ``DeliveryBatcher``, which on PostgreSQL uses ``PostgresInboxWriter`` instead.)
    """
    connection_ids = {delivery.row["connection_id"] for delivery in deliveries}
    with engine.begin() as database:
        versions = select(col(Connection.id), col(Connection.updated_at)).where(
            col(Connection.id).in_(connection_ids)
        )
        current: dict[uuid.UUID, datetime] = {row[0]: row[1] for row in database.execute(versions)}
        fresh = [
            delivery.row
            for delivery in deliveries
            if current.get(delivery.row["connection_id"]) == delivery.version
        ]
        inserted: set[tuple[uuid.UUID, str]] = set()
        if fresh:
            result = database.execute(_INSERTS[engine.dialect.name], fresh)
            inserted = {(row[0], row[1]) for row in result}
    return _outcomes(deliveries, inserted, current)


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


class PostgresInboxWriter:
    """The receiving side's own PostgreSQL connection, used from the event loop.

    A batch is one statement in autocommit: one round trip, where a pooled transaction took five
    (pool ping, BEGIN, version read, INSERT, COMMIT) plus a hop to a thread and back; at a few
    hundred deliveries a second per process, batches are small and that overhead was most of a
    delivery's CPU. A connection error is retried once on a new connection (storing is idempotent
    by delivery id, so a batch committed just before the error answers "duplicate", still a 202).
    """

    def __init__(self, engine: Engine) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._connection: psycopg.AsyncConnection[Any] | None = None

    async def store(self, deliveries: Sequence[ReceivedDelivery]) -> list[StoreOutcome]:
        for attempt in range(2):
            try:
                return await self._store(deliveries)
            except psycopg.OperationalError as exc:
                await self.close()
                if attempt:
                    raise OperationalError("storing webhook deliveries", None, exc) from exc
        raise AssertionError("unreachable")

    async def _store(self, deliveries: Sequence[ReceivedDelivery]) -> list[StoreOutcome]:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True
            )
        cursor = await self._connection.execute(_POSTGRES_INSERT, _columns(deliveries))
        inserted = {(row[0], row[1]) for row in await cursor.fetchall()}
        current: dict[uuid.UUID, datetime] = {}
        if len(inserted) < len(deliveries):  # redeliveries, or a connection that changed
            ids = list({delivery.row["connection_id"] for delivery in deliveries})
            cursor = await self._connection.execute(_POSTGRES_VERSIONS, (ids,))
            current = {row[0]: row[1] for row in await cursor.fetchall()}
        else:
            current = {delivery.key[0]: delivery.version for delivery in deliveries}
        return _outcomes(deliveries, inserted, current)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            await connection.close()


class DeliveryBatcher:
    """Group commit for the inbox: deliveries that arrive together are stored in one transaction.

    Each request still gets its answer only after its row is committed (202 means stored), but a
    commit waits for the disk (about 4 ms here), so one transaction per delivery caps a process
    at a few hundred a second. While one batch commits, the next gathers; under load batches grow
    by themselves, and a lone delivery is written at once.
    """

    def __init__(self, engine: Engine, max_rows: int = 500) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self._postgres = (
            PostgresInboxWriter(engine) if engine.dialect.name == "postgresql" else None
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
                deliveries = [delivery for delivery, _future in batch]
                if self._postgres is not None:
                    outcomes = await self._postgres.store(deliveries)
                else:
                    outcomes = await asyncio.to_thread(store_deliveries, self.engine, deliveries)
            except Exception as exc:  # e.g. the database restarting: each request answers it
                for _delivery, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_delivery, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():  # the client may have gone away meanwhile
                    future.set_result(outcome)
