"""The webhook inbox, processing side: claimed deliveries applied in batches, each exactly once.

A webhook is only a hint. A hint carrying the object is applied if it is not older than what is
stored; a hint with only a reference (or a deletion) makes the engine ask the tracker. Either way
the connection's next pull is brought forward, so a hint that could not be used is repaired.

Batches: a step claims up to ``DELIVERY_BATCH`` deliveries (SKIP LOCKED on PostgreSQL). The ones
whose hints all carry the object (GitHub and Trello send it: the usual case) are grouped by
connection and applied in one transaction per connection, which also marks them processed and
brings the connection's pull forward. So:

- a worker killed mid-batch commits nothing: the deliveries are claimed again once their lease
  expires, never half-applied;
- the links the batch touches are locked first (``SELECT ... FOR UPDATE`` in id order, so two
  workers never wait on each other in a cycle), and the hints are applied in arrival order inside
  the transaction, so no state older than the stored one is ever applied, whichever worker holds
  which delivery;
- a delivery is marked processed only while this worker still holds its lease: if a lease was lost
  (a batch that outlived it), the transaction is rolled back and the holder processes them.

Deliveries that need the tracker (a reference-only hint, a deletion) are processed one at a time,
outside any transaction, as before.

One bad delivery never holds back another: a delivery about another repository, project or board
(``OutOfScope``) is marked processed as ignored, with the reason; one the connector cannot use
(``Invalid``) is dead at once, since its body never changes; any other error while parsing or
applying it counts an attempt with the error, and it is tried again later, then dead after
``MAX_PROCESSING_ATTEMPTS``. A batch whose transaction fails is applied again one delivery at a
time, so only the delivery at fault is counted. Dead deliveries keep their error, are shown in
the connection's health and ``/metrics``, listed by ``GET /api/v1/sync/dead-deliveries`` and
retried like dead pushes.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from app.models import ActionItem, Connection, ExternalLink, WebhookDelivery
from app.models.sync import PENDING_DELIVERY
from app.observability.logging import bind_log_context
from connectors.base import (
    AuthFailed,
    ConnectorError,
    Invalid,
    OutOfScope,
    RateLimited,
    RemoteItem,
)
from sync.context import EngineContext
from sync.link_scopes import lives_in
from sync.pull import apply_remote_item, apply_to_link, confirm_vanished, find_link
from sync.retry import call_with_retries
from sync.scheduler import release_by_id

log = logging.getLogger("planbridge.sync")

# Deliveries claimed per step: one short claim, then one transaction per connection. A batch of a
# few hundred is applied in well under a second, far inside any lease.
DELIVERY_BATCH = 200
MAX_PROCESSING_ATTEMPTS = 5
# How soon after a delivery its connection is pulled (the pull repairs a hint that could not be
# used). Not at once: under a stream of deliveries that was a tracker round trip after every batch.
PULL_AFTER_DELIVERY = timedelta(seconds=2)
# A delivery that needs a tracker whose slots this process's other threads hold all
# (sync/connection_slots.py) is claimable again this much later: soon, but not in a busy loop.
HELD_DELIVERY_DELAY = timedelta(seconds=1)
ConnectionFailure = tuple[uuid.UUID, RateLimited | AuthFailed]


def process_claimed_deliveries(
    context: EngineContext, delivery_ids: Sequence[uuid.UUID]
) -> list[ConnectionFailure]:
    """Process deliveries this worker has claimed; returns the connection-wide failures met
    (rate limited, credentials refused) for the engine to back off or pause the connection."""
    if not delivery_ids:
        return []
    with Session(context.engine, expire_on_commit=False) as session:
        deliveries = session.exec(
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.id).in_(delivery_ids),
                PENDING_DELIVERY,
            )
            .order_by(col(WebhookDelivery.received_at), col(WebhookDelivery.id))
        ).all()
        connection_ids = {delivery.connection_id for delivery in deliveries}
        connections = {
            connection.id: connection
            for connection in session.exec(
                select(Connection).where(col(Connection.id).in_(connection_ids))
            ).all()
        }
    groups: dict[uuid.UUID, list[WebhookDelivery]] = defaultdict(list)
    for delivery in deliveries:
        groups[delivery.connection_id].append(delivery)
    waiting: list[tuple[Connection, list[WebhookDelivery]]] = []
    for connection_id, group in groups.items():
        connection = connections.get(connection_id)
        if connection is None:
            continue  # deleted meanwhile: its deliveries went with it
        with bind_log_context(connection_id=connection_id):
            one_by_one = _apply_group(context, connection, group)
        if one_by_one:
            waiting.append((connection, one_by_one))
    # Deliveries that need the tracker come after every batch, and of one connection only: a
    # tracker that hangs then holds up no other connection's deliveries (handed back at once for
    # another thread), nor its own beyond its slots (handed back for a moment).
    failures: list[ConnectionFailure] = []
    processed_one = False
    for connection, one_by_one in waiting:
        if processed_one:
            _hand_back(context, one_by_one, timedelta(0))
            continue
        with context.slots.occupy(connection.id) as entered:
            if not entered:
                _hand_back(context, one_by_one, HELD_DELIVERY_DELAY)
                continue
            processed_one = True
            with bind_log_context(connection_id=connection.id):
                failure = _process_one_by_one(context, one_by_one)
        if failure is not None:
            failures.append((connection.id, failure))
    return failures


def _hand_back(
    context: EngineContext, deliveries: Sequence[WebhookDelivery], delay: timedelta
) -> None:
    """Release claimed deliveries unprocessed, claimable again after ``delay``."""
    with Session(context.engine) as session:
        session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id).in_([delivery.id for delivery in deliveries]),
                col(WebhookDelivery.leased_by) == context.worker_id,
            )
            .values(leased_by=None, lease_until=context.clock.now() + delay if delay else None)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def _apply_group(
    context: EngineContext, connection: Connection, group: list[WebhookDelivery]
) -> list[WebhookDelivery]:
    """Apply the deliveries whose hints carry the objects (no tracker call); returns the ones
    that need the tracker."""
    connector = context.connector(connection)
    batch: list[tuple[WebhookDelivery, list[RemoteItem] | str]] = []
    one_by_one: list[WebhookDelivery] = []
    for delivery in group:
        try:
            hints = connector.parse_webhook(delivery.headers, delivery.body)
        except OutOfScope as exc:
            batch.append((delivery, f"ignored: {exc}"[:200]))
            continue
        except Invalid as exc:
            delivery_failed(context, delivery, f"not understood: {exc}", final=True)
            continue
        except Exception as exc:  # a connector's bug: counted against this delivery only
            delivery_failed(context, delivery, describe_error(exc))
            continue
        remotes = [hint.item for hint in hints if hint.item is not None]
        if len(remotes) == len(hints) and not any(
            hint.deleted or remote.deleted for hint, remote in zip(hints, remotes, strict=True)
        ):
            batch.append((delivery, remotes))
        else:
            one_by_one.append(delivery)
    for start in range(0, len(batch), DELIVERY_BATCH):
        _apply_batch_or_each(context, connection, batch[start : start + DELIVERY_BATCH])
    return one_by_one


def _apply_batch_or_each(
    context: EngineContext,
    connection: Connection,
    batch: Sequence[tuple[WebhookDelivery, list[RemoteItem] | str]],
) -> None:
    """Apply a batch in one transaction; when that fails, each delivery in its own, so only the
    one at fault is counted (and the others are applied)."""
    try:
        apply_batch(context, connection, batch)
        return
    except Exception as exc:
        if len(batch) == 1:
            delivery_failed(context, batch[0][0], describe_error(exc))
            return
        log.warning(
            "a batch of %d deliveries failed (%s); applying them one at a time",
            len(batch),
            describe_error(exc),
        )
    for entry in batch:
        try:
            apply_batch(context, connection, [entry])
        except Exception as exc:
            delivery_failed(context, entry[0], describe_error(exc))


def _process_one_by_one(
    context: EngineContext, one_by_one: list[WebhookDelivery]
) -> RateLimited | AuthFailed | None:
    for index, delivery in enumerate(one_by_one):
        with bind_log_context(delivery_id=delivery.delivery_id):
            try:
                process_delivery(context, delivery.id)
            except (RateLimited, AuthFailed) as exc:
                # The connection backs off or pauses as a whole: hand the rest back at once.
                for rest in one_by_one[index + 1 :]:
                    release_by_id(context.engine, WebhookDelivery, rest.id, context.worker_id)
                return exc
    return None


def apply_batch(
    context: EngineContext,
    connection: Connection,
    batch: Sequence[tuple[WebhookDelivery, list[RemoteItem] | str]],
) -> bool:
    """Apply deliveries of one connection and mark them processed, in one transaction.

    Each entry is a delivery with the objects its hints carry, or the outcome to record when it
    was not understood. False when a lease was lost and nothing was committed.
    """
    if not batch:
        return True
    actor = f"{connection.kind}:{connection.name}"
    refs = sorted(
        {
            remote.ref.external_id
            for _delivery, remotes in batch
            if not isinstance(remotes, str)
            for remote in remotes
        }
    )
    outcomes: dict[str, list[uuid.UUID]] = defaultdict(list)
    with Session(context.engine, expire_on_commit=False) as session, session.no_autoflush:
        # The items are held for the whole batch: the session keeps only weak references, and an
        # item let go would be read again by each state applied to it.
        links, _items = _lock_links(session, connection, refs)
        # Trackers send several deliveries about one change (GitHub: "edited", "labeled", ... each
        # with the whole issue): a state identical to the last one applied to its object in this
        # transaction would change nothing, so it is not compared with the database again.
        last_applied: dict[str, tuple[RemoteItem, str]] = {}
        for delivery, remotes in batch:
            if isinstance(remotes, str):
                outcomes[remotes].append(delivery.id)
                continue
            applied = 0
            for remote in remotes:
                previous = last_applied.get(remote.ref.external_id)
                if previous is not None and previous[0] == remote:
                    outcome = previous[1]
                else:
                    # Its own instant, so the events of one batch keep their order in time.
                    applied_at = context.clock.now()
                    link = links.get(remote.ref.external_id) or find_link(
                        session, connection, remote
                    )
                    outcome = apply_to_link(session, connection, link, remote, applied_at, actor)
                    last_applied[remote.ref.external_id] = (remote, outcome)
                applied += outcome == "applied"
            outcomes[f"applied {applied} of {len(remotes)} hints"].append(delivery.id)
        session.flush()
        now = context.clock.now()
        if not _mark_processed(session, context.worker_id, outcomes, now):
            session.rollback()
            log.warning(
                "a lease on %d delivery(ies) was lost before they were applied; left to the "
                "worker that holds them now",
                len(batch),
            )
            return False
        _bring_pull_forward(session, connection.id, now)
        session.commit()
    return True


def _lock_links(
    session: Session, connection: Connection, refs: Sequence[str]
) -> tuple[dict[str, ExternalLink], list[ActionItem]]:
    """Lock the links of a batch's objects (in id order) and load their items, in two queries.

    They stay in the session, so each hint is compared with the state the previous hint of the
    batch left, and the items are read from the session rather than one query per object. Returns
    the links by external id in the connection's default scope, where deliveries are read (a hint
    whose link is not among them is looked up as a pull does, ``find_link``: by the marker), and
    the items, for the caller to hold.
    """
    if not refs:
        return {}, []
    locked = session.exec(
        select(ExternalLink)
        .where(
            col(ExternalLink.connection_id) == connection.id,
            col(ExternalLink.external_id).in_(refs),
        )
        .order_by(col(ExternalLink.id))
        .with_for_update()
    ).all()
    item_ids = {link.item_id for link in locked if link.item_id is not None}
    items = (
        list(session.exec(select(ActionItem).where(col(ActionItem.id).in_(item_ids))).all())
        if item_ids
        else []
    )
    links: dict[str, ExternalLink] = {}
    for link in locked:
        if link.external_id is not None and lives_in(link, connection, None):
            links.setdefault(link.external_id, link)
    return links, items


def _mark_processed(
    session: Session, worker_id: str, outcomes: dict[str, list[uuid.UUID]], now: datetime
) -> bool:
    """Mark the deliveries processed with their outcomes; False unless this worker held them all."""
    marked = 0
    for outcome, ids in outcomes.items():
        result = session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id).in_(ids),
                col(WebhookDelivery.leased_by) == worker_id,
                PENDING_DELIVERY,
            )
            .values(
                processed_at=now,
                outcome=outcome[:200],
                attempts=col(WebhookDelivery.attempts) + 1,
                leased_by=None,
                lease_until=None,
            )
            .returning(col(WebhookDelivery.id))
            .execution_options(synchronize_session=False)
        )
        marked += len(result.all())
    return marked == sum(len(ids) for ids in outcomes.values())


def _bring_pull_forward(session: Session, connection_id: uuid.UUID, now: datetime) -> None:
    """A hint that could not be used is repaired by the next pull: make it due within
    ``PULL_AFTER_DELIVERY``.

    Conditional, so a burst of deliveries writes the connection row once, not once per batch, and
    brings one pull, not a pull after every batch.
    """
    due = now + PULL_AFTER_DELIVERY
    session.execute(
        update(Connection)
        .where(
            col(Connection.id) == connection_id,
            or_(col(Connection.next_poll_at).is_(None), col(Connection.next_poll_at) > due),
        )
        .values(next_poll_at=due)
        .execution_options(synchronize_session=False)
    )


def process_delivery(context: EngineContext, delivery_id: uuid.UUID) -> str:
    """Apply one claimed delivery's hints, asking the tracker where a hint holds only a
    reference or a deletion; returns the outcome stored on it."""
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
    except OutOfScope as exc:
        outcome_text = f"ignored: {exc}"[:200]
    except Invalid as exc:
        return delivery_failed(context, delivery, f"not understood: {exc}", final=True)
    except (RateLimited, AuthFailed):
        # Not the delivery's fault: it waits, uncounted, while the engine backs off or pauses
        # the whole connection.
        _hand_back(context, [delivery], timedelta(0))
        raise
    except ConnectorError as exc:
        return delivery_failed(context, delivery, str(exc))
    except Exception as exc:  # a connector's or the engine's bug: counted, never a stalled inbox
        return delivery_failed(context, delivery, describe_error(exc))
    now = context.clock.now()
    with Session(context.engine) as session:
        if _mark_processed(session, context.worker_id, {outcome_text: [delivery_id]}, now):
            _bring_pull_forward(session, connection.id, now)
            session.commit()
    return outcome_text


def describe_error(error: BaseException) -> str:
    """The error as stored on a delivery: its class (the message alone may be empty) and text."""
    return f"{type(error).__name__}: {error}"


def delivery_failed(
    context: EngineContext, delivery: WebhookDelivery, error: str, *, final: bool = False
) -> str:
    """Count a failed attempt at a claimed delivery, with its error: tried again later (5 s,
    10 s, ...), or dead when ``final`` (a body that can never be used) or after
    ``MAX_PROCESSING_ATTEMPTS``. Returns the outcome; nothing is written once the lease is lost."""
    now = context.clock.now()
    with Session(context.engine) as session:
        row = session.get(WebhookDelivery, delivery.id)
        if row is None or row.processed_at is not None or row.leased_by != context.worker_id:
            return "gone"
        row.attempts += 1
        row.last_error = error[:1000]
        row.leased_by = None
        with bind_log_context(delivery_id=row.delivery_id):
            if final or row.attempts >= MAX_PROCESSING_ATTEMPTS:
                row.dead = True
                row.processed_at = now
                row.lease_until = None
                row.outcome = f"dead after {row.attempts} attempt(s): {error}"[:200]
                log.warning("delivery %s is dead: %s", row.id, error)
            else:
                # A lease end in the future with no holder delays the next claim.
                row.lease_until = now + timedelta(seconds=5 * row.attempts)
                row.outcome = f"will retry: {error}"[:200]
                if row.attempts == 1:  # the transition only; the retries are in its attempts
                    log.warning("delivery %s failed, will retry: %s", row.id, error)
        outcome = row.outcome or ""
        session.add(row)
        if row.dead:
            _bring_pull_forward(session, row.connection_id, now)
        session.commit()
    return outcome
