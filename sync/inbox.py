"""The webhook inbox: store each delivery once, answer at once, process it in the engine.

Receiving (the web route): the signature is checked by the connector in constant time against the
current webhook secret and, during a rotation's grace period, the previous one; a delivery that
fails
is answered 401 and nothing is stored. A verified delivery is inserted under its delivery id; the
unique (connection, delivery id) key turns a redelivery into a no-op, so it is processed once.

Processing (a worker): a webhook is only a hint. A hint carrying the object is applied if it is
newer
than what is stored; a hint with only a reference makes the engine fetch the object. Either way the
connection's next pull is brought forward, so a hint that could not be used is still repaired.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Connection, WebhookDelivery
from app.services.connections import connector_settings, webhook_secrets
from app.settings import Settings
from connectors.base import AuthFailed, ConnectorError, Invalid, RateLimited, RemoteItem
from connectors.registry import build_connector
from sync.context import EngineContext
from sync.pull import apply_remote_item, confirm_vanished
from sync.retry import call_with_retries

# Headers worth keeping with a delivery (the connector may need them to parse it); never auth
# headers.
KEPT_HEADER_PREFIXES = ("x-", "content-type", "user-agent")
MAX_PROCESSING_ATTEMPTS = 5


def verify_delivery(
    settings: Settings,
    connection: Connection,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> bool:
    """True when the body is signed with the current (or, in its grace, the previous) secret."""
    for secret in webhook_secrets(settings, connection, now):
        connector = build_connector(
            connection.kind, connector_settings(settings, connection, webhook_secret=secret)
        )
        try:
            if connector.verify_webhook(headers, body):
                return True
        finally:
            connector.close()
    return False


def delivery_id_of(
    settings: Settings, connection: Connection, headers: Mapping[str, str], body: bytes
) -> str:
    connector = build_connector(connection.kind, connector_settings(settings, connection))
    try:
        return connector.webhook_delivery_id(headers, body)[:200]
    finally:
        connector.close()


def store_delivery(
    engine: Engine,
    connection: Connection,
    delivery_id: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> bool:
    """Insert the delivery unless its id was seen; True when it is new."""
    kept = {k.lower(): v for k, v in headers.items() if k.lower().startswith(KEPT_HEADER_PREFIXES)}
    insert = postgres_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(WebhookDelivery)
        .values(
            id=uuid.uuid4(),
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            delivery_id=delivery_id,
            received_at=now,
            headers=kept,
            body=body,
            attempts=0,
        )
        .on_conflict_do_nothing()
    )
    with Session(engine) as session:
        result = session.execute(statement)
        # Bring the connection's pull forward: a hint that cannot be applied is repaired by it.
        row = session.get(Connection, connection.id)
        if row is not None and result.rowcount:  # type: ignore[attr-defined]
            row.next_poll_at = now
            session.add(row)
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


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
