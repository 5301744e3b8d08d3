"""The webhook inbox: store each delivery once, answer at once, process it in the engine.

Receiving (the web route, thousands a second): the signature is checked by the connector in
constant time against the current webhook secret and, during a rotation's grace period, the
previous one, through a per-process cache of verifiers (no connector built, no secret decrypted per
delivery); a delivery that fails is answered 401 and nothing is stored. A verified delivery is one
``INSERT ... ON CONFLICT DO NOTHING`` under its delivery id; the unique (connection, delivery id)
key turns a redelivery into a no-op, so it is processed once.

Processing (a worker): a webhook is only a hint. A hint carrying the object is applied if it is
newer than what is stored; a hint with only a reference makes the engine fetch the object. Either
way the connection's next pull is brought forward, so a hint that could not be used is repaired.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import event, or_, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Connection, WebhookDelivery
from app.services.connections import connector_settings, webhook_secrets
from app.settings import Settings
from connectors.base import (
    AuthFailed,
    Connector,
    ConnectorError,
    Invalid,
    RateLimited,
    RemoteItem,
)
from connectors.registry import build_connector
from sync.context import EngineContext
from sync.pull import apply_remote_item, confirm_vanished
from sync.retry import call_with_retries

# Headers worth keeping with a delivery (the connector may need them to parse it); never auth
# headers.
KEPT_HEADER_PREFIXES = ("x-", "content-type", "user-agent")
MAX_PROCESSING_ATTEMPTS = 5


class DeliveryVerifier:
    """What receiving a delivery needs of its connection, loaded once and kept for a few seconds.

    One connector per valid secret is built when the connection is loaded, not per delivery:
    building one decrypts the credentials and validates the config (milliseconds), while checking
    an HMAC takes microseconds. ``verify_webhook`` and ``webhook_delivery_id`` use no HTTP session,
    so the connectors are shared by the threads that receive deliveries.
    """

    def __init__(self, settings: Settings, connection: Connection, now: datetime) -> None:
        self.connection_id = connection.id
        self.workspace_id = connection.workspace_id
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
        return self._reader.webhook_delivery_id(headers, body)[:200]

    def close(self) -> None:
        for connector, _until in self._signers:
            connector.close()
        self._reader.close()


class VerifierCache:
    """Per-process cache of ``DeliveryVerifier`` by connection id, each kept ``ttl_seconds``.

    An edit of a connection through this process (a rotated secret, new credentials, a delete)
    drops its entry at once (``_connection_changed``); another process's edit is seen within the
    TTL. A delivery that fails verification against an entry older than a second reloads it once,
    so a secret rotated elsewhere verifies at once, without a forged flood reaching the database
    more than once a second per connection.
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


_CACHES: weakref.WeakSet[VerifierCache] = weakref.WeakSet()


@event.listens_for(Connection, "after_update")
@event.listens_for(Connection, "after_delete")
def _connection_changed(_mapper: object, _connection: object, target: Connection) -> None:
    for cache in list(_CACHES):
        cache.invalidate(target.id)


def delivery_row(
    verifier: DeliveryVerifier,
    delivery_id: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> dict[str, Any]:
    """The inbox row of one verified delivery (headers trimmed to what the connector may need)."""
    kept = {k.lower(): v for k, v in headers.items() if k.lower().startswith(KEPT_HEADER_PREFIXES)}
    return {
        "id": uuid.uuid4(),
        "workspace_id": verifier.workspace_id,
        "connection_id": verifier.connection_id,
        "delivery_id": delivery_id,
        "received_at": now,
        "headers": kept,
        "body": body,
        "attempts": 0,
    }


def store_deliveries(engine: Engine, rows: Sequence[dict[str, Any]]) -> set[tuple[uuid.UUID, str]]:
    """Insert the rows whose (connection, delivery id) was not seen; returns the keys inserted.

    One statement, one short transaction, and nothing else: the connection row is not touched
    (under load it would be a hot row every receiving request waits on, and the worker updates it
    too); the worker brings the connection's pull forward when it processes the delivery.
    """
    insert = postgres_insert if engine.dialect.name == "postgresql" else sqlite_insert
    table: Any = WebhookDelivery
    statement = (
        insert(WebhookDelivery)
        .values(list(rows))
        .on_conflict_do_nothing()
        .returning(table.connection_id, table.delivery_id)
    )
    with engine.begin() as database:
        return {(row[0], row[1]) for row in database.execute(statement)}


class DeliveryBatcher:
    """Group commit for the inbox: deliveries that arrive together are stored in one INSERT.

    Each request still gets its answer only after its row is committed (202 means stored), but a
    commit waits for the disk (about 4 ms here), so one transaction per delivery caps a process
    at a few hundred a second. While one batch commits, the next gathers; under load batches grow
    by themselves, and a lone delivery is written at once.
    """

    def __init__(self, engine: Engine, max_rows: int = 500) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, row: dict[str, Any]) -> bool:
        """Store one row; True when it is new, False when its delivery id was already stored."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((row, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_rows]
            del self._pending[: self.max_rows]
            try:
                inserted = await asyncio.to_thread(
                    store_deliveries, self.engine, [row for row, _future in batch]
                )
            except Exception as exc:  # e.g. the database restarting: each request answers it
                for _row, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            answered: set[tuple[uuid.UUID, str]] = set()
            for row, future in batch:
                key = (row["connection_id"], row["delivery_id"])
                # The same delivery twice in one batch: the first is new, the second a redelivery.
                is_new = key in inserted and key not in answered
                answered.add(key)
                if not future.done():  # the client may have gone away meanwhile
                    future.set_result(is_new)


def _bring_pull_forward(context: EngineContext, connection_id: uuid.UUID) -> None:
    """A hint that could not be used is repaired by the next pull: make it due now.

    Conditional, so a burst of deliveries writes the connection row once, not once per delivery.
    """
    now = context.clock.now()
    table: Any = Connection
    with context.engine.begin() as database:
        database.execute(
            update(table)
            .where(
                table.id == connection_id,
                or_(table.next_poll_at.is_(None), table.next_poll_at > now),
            )
            .values(next_poll_at=now)
        )


def process_delivery(context: EngineContext, delivery_id: uuid.UUID) -> str:
    """Apply one claimed delivery's hints; returns the outcome stored on it."""
    with Session(context.engine, expire_on_commit=False) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.processed_at is not None:
            return "gone"
        connection = session.get(Connection, delivery.connection_id)
    if connection is None:
        return "gone"
    connector = context.connector(connection)
    actor = f"{connection.kind}:{connection.name}"
    try:
        hints = connector.parse_webhook(delivery.headers, delivery.body)
        applied = 0
        for hint in hints:
            remote: RemoteItem | None = hint.item
            if remote is None and hint.ref is not None and not hint.deleted:
                remote = call_with_retries(
                    context.retry_policy, partial(connector.fetch_item, hint.ref)
                )
            if hint.deleted or (remote is None and hint.ref is not None):
                if hint.ref is not None and confirm_vanished(
                    context, connector, connection, hint.ref
                ):
                    applied += 1
                continue
            if remote is None:
                continue
            with Session(context.engine, expire_on_commit=False) as session:
                outcome = apply_remote_item(session, connection, remote, context.clock.now(), actor)
                session.commit()
            if outcome == "vanished" and confirm_vanished(
                context, connector, connection, remote.ref
            ):
                applied += 1
            applied += outcome == "applied"
        outcome_text = f"applied {applied} of {len(hints)} hints"
    except Invalid as exc:
        outcome_text = f"not understood: {exc}"[:200]
    except ConnectorError as exc:
        outcome_text = _retry_later(context, delivery_id, str(exc))
        if isinstance(exc, RateLimited | AuthFailed):
            raise  # the engine backs off or pauses the whole connection
        return outcome_text
    _finish(context, delivery_id, outcome_text)
    _bring_pull_forward(context, connection.id)
    return outcome_text


def _finish(context: EngineContext, delivery_id: uuid.UUID, outcome: str) -> None:
    with Session(context.engine) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is not None:
            delivery.processed_at = context.clock.now()
            delivery.outcome = outcome[:200]
            delivery.attempts += 1
            delivery.leased_by = delivery.lease_until = None
            session.add(delivery)
            session.commit()


def _retry_later(context: EngineContext, delivery_id: uuid.UUID, error: str) -> str:
    """A tracker error while processing: try again later; give up after a few attempts (pull
    repairs)."""
    with Session(context.engine) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return "gone"
        delivery.attempts += 1
        # A lease end in the future with no holder delays the next claim (5 s, 10 s, ...).
        delivery.leased_by = None
        delivery.lease_until = context.clock.now() + timedelta(seconds=5 * delivery.attempts)
        if delivery.attempts >= MAX_PROCESSING_ATTEMPTS:
            delivery.processed_at = context.clock.now()
            delivery.outcome = f"gave up (the next pull repairs it): {error}"[:200]
        session.add(delivery)
        session.commit()
        return delivery.outcome or f"will retry: {error}"
