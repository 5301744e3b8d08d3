"""One engine step: webhook deliveries first (live work), then due pulls, then pushes.

Every unit of work is claimed with a lease (sync/scheduler.py) and finished in its own short
transactions, so any number of workers can run steps against one database. Errors are classified
once
here: RateLimited backs off the whole connection, AuthFailed pauses it with a readable reason, and
any
other failure of a push counts against its link (exponential back-off, then ``dead``).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlmodel import Session

from app.models import ActionItem, Connection, ExternalLink, Goal, WebhookDelivery
from app.models.sync import ConnectionState
from connectors.base import AuthFailed, ConnectorError, RateLimited
from sync.context import EngineContext
from sync.inbox import process_delivery
from sync.pull import pull_connection
from sync.push import PushDeferred, push_link
from sync.retry import next_attempt_delay, next_pull_delay, rate_limit_backoff
from sync.routing import ensure_links
from sync.scheduler import claim, renew

log = logging.getLogger("planbridge.sync")
BATCH = 20


@dataclass
class StepResult:
    deliveries: int = 0
    pulls: int = 0
    pushes: Counter[str] = field(default_factory=Counter)
    errors: int = 0

    @property
    def did_work(self) -> bool:
        return bool(self.deliveries or self.pulls or sum(self.pushes.values()))


def _connection_usable(now: Any) -> list[ColumnElement[bool]]:
    table: Any = Connection
    return [
        table.state == ConnectionState.active,
        or_(table.backoff_until.is_(None), table.backoff_until <= now),
    ]


def needs_push_conditions(now: Any, held: list[uuid.UUID]) -> list[ColumnElement[bool]]:
    link: Any = ExternalLink
    item: Any = ActionItem
    goal: Any = Goal
    conditions = [
        link.dead.is_(False),
        link.tombstoned_at.is_(None),
        or_(link.next_attempt_at.is_(None), link.next_attempt_at <= now),
        or_(
            link.external_id.is_(None),
            and_(link.item_id.is_not(None), item.revision > link.pushed_revision),
            and_(link.goal_id.is_not(None), goal.revision > link.pushed_revision),
        ),
        *_connection_usable(now),
    ]
    if held:
        conditions.append(link.connection_id.not_in(held))
    return conditions


class SyncEngine:
    def __init__(self, context: EngineContext) -> None:
        self.context = context

    # --- connection-wide failures ----------------------------------------------------------------

    def _connection_failed(self, connection_id: uuid.UUID, error: ConnectorError) -> None:
        now = self.context.clock.now()
        with Session(self.context.engine) as session:
            connection = session.get(Connection, connection_id)
            if connection is None:
                return
            if isinstance(error, RateLimited):
                connection.backoff_until = now + rate_limit_backoff(error.retry_after)
                connection.rate_limit_remaining = 0
                log.info("connection %s rate limited for %.1f s", connection_id, error.retry_after)
            elif isinstance(error, AuthFailed):
                connection.state = ConnectionState.paused
                connection.paused_reason = (
                    f"The tracker refused the credentials ({error}). Update them with PATCH "
                    f"/api/v1/connections/{connection_id}, then POST .../resume."
                )
                log.warning("connection %s paused: %s", connection_id, error)
            connection.last_error = str(error)[:1000]
            session.add(connection)
            session.commit()

    # --- deliveries
    # ---------------------------------------------------------------------------------

    def process_deliveries(self, limit: int = BATCH) -> int:
        now = self.context.clock.now()
        table: Any = WebhookDelivery
        ids = claim(
            self.context.engine,
            WebhookDelivery,
            worker_id=self.context.worker_id,
            now=now,
            lease=self.context.lease,
            conditions=[table.processed_at.is_(None), *_connection_usable(now)],
            joins=[(Connection, Connection.id == table.connection_id)],
            order_by=[table.received_at],
            limit=limit,
        )
        for delivery_id in ids:
            try:
                process_delivery(self.context, delivery_id)
            except (RateLimited, AuthFailed) as exc:
                with Session(self.context.engine) as session:
                    delivery = session.get(WebhookDelivery, delivery_id)
                    if delivery is not None:
                        self._connection_failed(delivery.connection_id, exc)
        return len(ids)

    # --- pulls ---------------------------------------------------------------------------------

    def pull_due(self, limit: int = 5, *, force_connection: uuid.UUID | None = None) -> int:
        now = self.context.clock.now()
        table: Any = Connection
        due = or_(table.next_poll_at.is_(None), table.next_poll_at <= now)
        conditions = [table.id == force_connection] if force_connection else [due]
        ids = claim(
            self.context.engine,
            Connection,
            worker_id=self.context.worker_id,
            now=now,
            lease=self.context.lease,
            conditions=[*conditions, *_connection_usable(now)],
            order_by=[table.next_poll_at],
            limit=limit,
        )
        for connection_id in ids:
            self.pull_one(connection_id)
        return len(ids)

    def pull_one(self, connection_id: uuid.UUID) -> None:
        error: ConnectorError | None = None
        try:
            pull_connection(self.context, connection_id)
        except ConnectorError as exc:
            error = exc
        except Exception as exc:  # a bug must not stop the worker; it is logged and backed off
            log.exception("pull of connection %s failed", connection_id)
            error = ConnectorError(f"internal error: {type(exc).__name__}: {exc}")
        now = self.context.clock.now()
        with Session(self.context.engine) as session:
            connection = session.get(Connection, connection_id)
            if connection is None:
                return
            connection.last_pull_at = now
            if error is None:
                if connection.consecutive_failures:
                    log.info("connection %s recovered", connection_id)
                connection.last_pull_ok_at = now
                connection.consecutive_failures = 0
                connection.last_error = None
                connection.next_poll_at = now + timedelta(seconds=connection.poll_interval_seconds)
                self._store_rate_limit(connection)
            else:
                if connection.consecutive_failures == 0:
                    log.warning("pull of connection %s failing: %s", connection_id, error)
                connection.consecutive_failures += 1
                connection.last_error = str(error)[:1000]
                connection.next_poll_at = now + next_pull_delay(
                    connection.consecutive_failures, connection.poll_interval_seconds
                )
            connection.leased_by = connection.lease_until = None
            session.add(connection)
            session.commit()
        if isinstance(error, RateLimited | AuthFailed):
            self._connection_failed(connection_id, error)

    def _store_rate_limit(self, connection: Connection) -> None:
        try:
            state = self.context.connector(connection).rate_limit
        except ConnectorError:
            return
        connection.rate_limit_limit = state.limit
        connection.rate_limit_remaining = state.remaining
        connection.rate_limit_reset_at = state.reset_at

    # --- pushes -----------------------------------------------------------------------------------

    def push_pending(
        self, limit: int = BATCH, *, connection_id: uuid.UUID | None = None
    ) -> Counter[str]:
        now = self.context.clock.now()
        link: Any = ExternalLink
        conditions = needs_push_conditions(now, self.context.pacing.held(now))
        if connection_id is not None:
            conditions.append(link.connection_id == connection_id)
        ids = claim(
            self.context.engine,
            ExternalLink,
            worker_id=self.context.worker_id,
            now=now,
            lease=self.context.lease,
            conditions=conditions,
            joins=[
                (Connection, Connection.id == link.connection_id),
                (ActionItem, ActionItem.id == link.item_id),
                (Goal, Goal.id == link.goal_id),
            ],
            # Goal mirrors before items (items need their parent), then oldest first.
            order_by=[link.kind, link.created_at],
            limit=limit,
        )
        outcomes: Counter[str] = Counter()
        for link_id in ids:
            # A batch can outlast its lease: renew it per link, and skip a link taken over
            # meanwhile.
            until = self.context.clock.now() + self.context.lease
            if not renew(self.context.engine, ExternalLink, link_id, self.context.worker_id, until):
                outcomes["lost_lease"] += 1
                continue
            outcomes[self.push_one(link_id)] += 1
        return outcomes

    def push_one(self, link_id: uuid.UUID) -> str:
        try:
            return push_link(self.context, link_id)
        except PushDeferred as deferred:
            self._defer_link(link_id, deferred)
            return "deferred"
        except (RateLimited, AuthFailed) as exc:
            connection_id = self._release_link(link_id)
            if connection_id is not None:
                self._connection_failed(connection_id, exc)
            return "rate_limited" if isinstance(exc, RateLimited) else "paused"
        except ConnectorError as exc:
            return self._link_failed(link_id, str(exc))
        except Exception as exc:  # a bug must not stop the worker; it counts against the link
            log.exception("push of link %s failed", link_id)
            return self._link_failed(link_id, f"internal error: {type(exc).__name__}: {exc}")

    def _defer_link(self, link_id: uuid.UUID, deferred: PushDeferred) -> None:
        with Session(self.context.engine) as session:
            row = session.get(ExternalLink, link_id)
            if row is None:
                return
            if "write slot" not in str(deferred):
                row.next_attempt_at = self.context.clock.now() + timedelta(
                    seconds=deferred.until_seconds
                )
            row.leased_by = row.lease_until = None
            session.add(row)
            session.commit()

    def _release_link(self, link_id: uuid.UUID) -> uuid.UUID | None:
        with Session(self.context.engine) as session:
            row = session.get(ExternalLink, link_id)
            if row is None:
                return None
            row.leased_by = row.lease_until = None
            session.add(row)
            session.commit()
            return row.connection_id

    def _link_failed(self, link_id: uuid.UUID, error: str) -> str:
        now = self.context.clock.now()
        with Session(self.context.engine) as session:
            row = session.get(ExternalLink, link_id)
            if row is None:
                return "gone"
            row.attempts += 1
            row.last_error = error[:1000]
            row.leased_by = row.lease_until = None
            if row.attempts >= self.context.settings.sync_max_attempts:
                row.dead = True
                log.warning("link %s is dead after %d attempts: %s", link_id, row.attempts, error)
            else:
                row.next_attempt_at = now + next_attempt_delay(row.attempts)
            session.add(row)
            session.commit()
            return "dead" if row.dead else "failed"

    # --- a whole step
    # ------------------------------------------------------------------------------

    def step(self) -> StepResult:
        result = StepResult()
        result.deliveries = self.process_deliveries()
        result.pulls = self.pull_due()
        ensure_links(self.context.engine)
        result.pushes = self.push_pending()
        result.errors = result.pushes["failed"] + result.pushes["dead"]
        return result

    def run_pass(
        self,
        connection_id: uuid.UUID | None = None,
        progress: Callable[[Counter[str]], None] | None = None,
        max_seconds: float = 3600.0,
    ) -> Counter[str]:
        """One full pass in the foreground: deliveries, a pull of every (or one) connection, then
        every pending push, waiting for write slots when paced. Returns counts per outcome."""
        totals: Counter[str] = Counter()
        totals["deliveries"] += self.process_deliveries(limit=10_000)
        table: Any = Connection
        query = select(table.id).where(*_connection_usable(self.context.clock.now()))
        if connection_id is not None:
            query = query.where(table.id == connection_id)
        with Session(self.context.engine) as session:
            connection_ids = list(session.execute(query).scalars())
        for each in connection_ids:
            totals["pulls"] += self.pull_due(force_connection=each)
        ensure_links(self.context.engine, limit=100_000)
        deadline = self.context.clock.now() + timedelta(seconds=max_seconds)
        while self.context.clock.now() < deadline:
            outcomes = self.push_pending(connection_id=connection_id)
            totals.update(outcomes)
            if progress is not None and outcomes:
                progress(outcomes)
            if outcomes:
                continue
            earliest = self.context.pacing.earliest()
            if earliest is None:
                break
            self.context.clock.sleep((earliest - self.context.clock.now()).total_seconds())
        return totals
