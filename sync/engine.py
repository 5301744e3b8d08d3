"""One engine step: webhook deliveries first (live work), then due pulls, then pushes.

Every unit of work is claimed with a lease (sync/scheduler.py) and finished in its own short
transactions, so any number of workers can run steps against one database. Errors are classified
once here: RateLimited backs off the whole connection, AuthFailed pauses it with a readable reason,
and any other failure of a push counts against its link (exponential back-off, then ``dead``).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, text
from sqlmodel import Session, col

from app.models import ActionItem, Connection, ExternalLink, Goal, WebhookDelivery
from app.models.sync import PENDING_DELIVERY, ConnectionState, needs_push
from app.observability.logging import bind_log_context
from app.observability.metrics import record_error, record_pull, record_push
from app.services.digest import send_weekly_digests
from app.services.notifications import deliver_due_notifications
from app.services.nudge_round import run_nudge_round
from app.services.reviews import enqueue_ready_reviews
from connectors.base import AuthFailed, ConnectorError, RateLimited, TargetReadOnly
from sync.audit import audit_connection
from sync.check_turns import take_turn
from sync.context import EngineContext
from sync.deliveries import DELIVERY_BATCH, process_claimed_deliveries
from sync.goal_health import publish_goal_health
from sync.goal_mirrors import refresh_goal_mirrors
from sync.pull import pull_connection
from sync.push import PushDeferred, PushOutcome, WaitingForWriteSlot, push_link
from sync.retry import next_attempt_delay, next_pull_delay, rate_limit_backoff
from sync.review_comments import post_review_comments
from sync.routing import ensure_links, follow_moves
from sync.scheduler import claim, release_by_id, renew

log = logging.getLogger("planbridge.sync")
BATCH = 20
# Pushes are claimed a few at a time (a step still does up to BATCH): each takes a tracker round
# trip or two (50 ms and more), so a worker holding 20 would keep the last ones from idle workers
# and the slowest batch would set the pace (4 workers reached 1.45x of one). Claiming is one short
# transaction, cheap beside that.
PUSH_BATCH = 4
# Last week's reviews are looked for this often per engine: the work is idempotent, so the interval
# only bounds how late after Monday 00:00 UTC a review goes out.
REVIEW_CHECK_INTERVAL = timedelta(minutes=10)
# How often goal mirrors' progress text is compared with what the trackers show (one progress and
# health query per mirrored goal, so not every step).
MIRROR_REFRESH_INTERVAL = timedelta(minutes=1)
# How often the goals noted by status changes are compared with their published health: a loop
# under load runs many times a second, and the step costs a transaction even when nothing is
# noted (about 5 ms at load 15, half of it CPU), so subscribers hear within this interval.
HEALTH_CHECK_INTERVAL = timedelta(seconds=2)
# How often items are checked for a changed route (one query over the live item links, so not
# every step; every full pass checks too).
MOVE_CHECK_INTERVAL = timedelta(seconds=30)
# How often open items are checked for nudges (overdue, blocked, stale; escalations; held ones now
# allowed): one query over the open items of running plans. Decided here, sent by the people loop's
# outbox (sync/people_loop.py). Once per interval per database, by whichever engine thread of
# whichever worker takes the turn first (sync/check_turns.py), not once per engine.
NUDGE_CHECK_INTERVAL = timedelta(minutes=1)
# The name of the nudge round's shared due time (``worker_check``, sync/check_turns.py).
NUDGE_CHECK = "nudge_round"
# Any constant: the PostgreSQL advisory lock under which one worker at a time enqueues reviews.
REVIEW_LOCK_KEY = 0x706C616E_72657669


def error_kind(error: BaseException) -> str:
    """The metric label of an error: the class name in snake case (auth_failed, rate_limited)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


@dataclass
class StepResult:
    deliveries: int = 0
    pulls: int = 0
    pushes: Counter[PushOutcome] = field(default_factory=Counter)
    errors: int = 0

    @property
    def did_work(self) -> bool:
        return bool(self.deliveries or self.pulls or sum(self.pushes.values()))


def _connection_usable(now: Any) -> list[ColumnElement[bool]]:
    return [
        col(Connection.state) == ConnectionState.active,
        or_(col(Connection.backoff_until).is_(None), col(Connection.backoff_until) <= now),
    ]


def needs_push_conditions(now: Any, held: list[uuid.UUID]) -> list[ColumnElement[bool]]:
    """Links that ``needs_push`` and that may be pushed now, for a claim joined to items and goals.

    Now: past their back-off, on a usable connection that is not ``held``.
    """
    next_attempt_at = col(ExternalLink.next_attempt_at)
    conditions = [
        needs_push(func.coalesce(col(ActionItem.revision), col(Goal.revision))),
        or_(next_attempt_at.is_(None), next_attempt_at <= now),
        *_connection_usable(now),
    ]
    if held:
        conditions.append(col(ExternalLink.connection_id).not_in(held))
    return conditions


class SyncEngine:
    def __init__(self, context: EngineContext) -> None:
        self.context = context
        self._next_review_check: datetime | None = None
        self._next_mirror_refresh: datetime | None = None
        self._next_health_check: datetime | None = None
        self._next_move_check: datetime | None = None
        self._next_nudge_check: datetime | None = None

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
            elif isinstance(error, TargetReadOnly):
                connection.state = ConnectionState.paused
                connection.paused_reason = (
                    f"The tracker takes no writes: {error}. Then POST "
                    f"/api/v1/connections/{connection_id}/resume."
                )
                log.warning("connection %s paused: %s", connection_id, error)
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

    def process_deliveries(self, limit: int = DELIVERY_BATCH) -> int:
        now = self.context.clock.now()
        ids = claim(
            self.context.engine,
            WebhookDelivery,
            worker_id=self.context.worker_id,
            now=now,
            lease=self.context.lease,
            conditions=[PENDING_DELIVERY, *_connection_usable(now)],
            joins=[(Connection, col(Connection.id) == col(WebhookDelivery.connection_id))],
            order_by=[col(WebhookDelivery.received_at)],
            limit=limit,
        )
        # Applied in one transaction per connection (sync/deliveries.py).
        for connection_id, exc in process_claimed_deliveries(self.context, ids):
            record_error(connection_id, error_kind(exc))
            self._connection_failed(connection_id, exc)
        return len(ids)

    # --- pulls ---------------------------------------------------------------------------------

    def pull_due(self, limit: int = 5, *, force_connection: uuid.UUID | None = None) -> int:
        """Pull up to ``limit`` due connections, claimed one at a time.

        Connections claimed together would wait behind the first one's tracker, however slow it
        answers.
        """
        pulled = 0
        for _ in range(limit):
            now = self.context.clock.now()
            due = or_(col(Connection.next_poll_at).is_(None), col(Connection.next_poll_at) <= now)
            conditions = [col(Connection.id) == force_connection] if force_connection else [due]
            full = self.context.slots.full()  # this process's threads are all in its tracker
            if full:
                conditions.append(col(Connection.id).not_in(full))
            ids = claim(
                self.context.engine,
                Connection,
                worker_id=self.context.worker_id,
                now=now,
                lease=self.context.lease,
                conditions=[*conditions, *_connection_usable(now)],
                order_by=[col(Connection.next_poll_at)],
                limit=1,
            )
            if not ids:
                break
            pulled += self.pull_one(ids[0])
            if force_connection:
                break
        return pulled

    def pull_one(self, connection_id: uuid.UUID) -> int:
        """Pull a claimed connection; 0 when it was handed back (its slots all taken)."""
        with self.context.slots.occupy(connection_id) as entered:
            if not entered:
                release_by_id(
                    self.context.engine, Connection, connection_id, self.context.worker_id
                )
                return 0
            with bind_log_context(connection_id=connection_id):
                self._pull_one(connection_id)
        return 1

    def _pull_one(self, connection_id: uuid.UUID) -> None:
        error: ConnectorError | None = None
        counts: dict[str, int] = {}
        try:
            counts = pull_connection(self.context, connection_id)
            # The slow audit's slice rides on the pass (sync/audit.py); it fails like the pull.
            for name, value in audit_connection(self.context, connection_id).items():
                counts[name] = counts.get(name, 0) + value
        except ConnectorError as exc:
            error = exc
            record_error(connection_id, error_kind(exc))
        except Exception as exc:  # a bug must not stop the worker; it is logged and backed off
            log.exception("pull of connection %s failed", connection_id)
            error = ConnectorError(f"internal error: {type(exc).__name__}: {exc}")
            record_error(connection_id, "internal")
        changes = counts.get("applied", 0) + counts.get("vanished", 0)
        record_pull(connection_id, "ok" if error is None else error_kind(error), changes)
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
        self, limit: int = PUSH_BATCH, *, connection_id: uuid.UUID | None = None
    ) -> Counter[PushOutcome]:
        now = self.context.clock.now()
        # Left out: connections waiting for a write slot, and those whose tracker already has
        # all the threads of this process it may have (sync/connection_slots.py).
        held = [*self.context.pacing.held(now), *self.context.slots.full()]
        conditions = needs_push_conditions(now, held)
        if connection_id is not None:
            conditions.append(col(ExternalLink.connection_id) == connection_id)
        ids = claim(
            self.context.engine,
            ExternalLink,
            worker_id=self.context.worker_id,
            now=now,
            lease=self.context.lease,
            conditions=conditions,
            joins=[
                (Connection, col(Connection.id) == col(ExternalLink.connection_id)),
                (ActionItem, col(ActionItem.id) == col(ExternalLink.item_id)),
                (Goal, col(Goal.id) == col(ExternalLink.goal_id)),
            ],
            # Goal mirrors before items (items need their parent), close-outs of moved items
            # after the creates they wait for, then oldest first.
            order_by=[
                col(ExternalLink.kind),
                col(ExternalLink.moved_at).is_not(None),
                col(ExternalLink.created_at),
            ],
            limit=limit,
        )
        outcomes: Counter[PushOutcome] = Counter()
        for link_id in self._push_order(ids, self._one_connection(ids)):
            # A batch can outlast its lease: renew it per link, and skip a link taken over
            # meanwhile.
            until = self.context.clock.now() + self.context.lease
            if not renew(self.context.engine, ExternalLink, link_id, self.context.worker_id, until):
                outcomes[PushOutcome.lost_lease] += 1
                continue
            outcomes[self.push_one(link_id)] += 1
        return outcomes

    def _one_connection(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[bool, bool]]:
        """The push rank of the claimed links of one connection; the others are handed back.

        They are handed back at once, so that a tracker that hangs holds up no link of another
        connection.
        """
        if not ids:
            return {}
        query = select(
            col(ExternalLink.id),
            col(ExternalLink.connection_id),
            col(ExternalLink.kind),
            col(ExternalLink.moved_at),
        ).where(col(ExternalLink.id).in_(ids))
        with Session(self.context.engine) as session:
            rows = sorted(
                session.execute(query).all(), key=lambda row: (row[2] != "goal", row[3] is not None)
            )
        if not rows:
            return {}
        kept = rows[0][1]
        for row in rows:
            if row[1] != kept:
                release_by_id(self.context.engine, ExternalLink, row[0], self.context.worker_id)
        return {row[0]: (row[2] != "goal", row[3] is not None) for row in rows if row[1] == kept}

    @staticmethod
    def _push_order(
        ids: list[uuid.UUID], rank: dict[uuid.UUID, tuple[bool, bool]]
    ) -> list[uuid.UUID]:
        """The kept links in push order (a claim's UPDATE ... RETURNING does not keep its ORDER BY).

        Goal mirrors come before the items that need them as parent, and a moved item's close-out
        after the create of its new object, which it waits for.
        """
        return sorted((i for i in ids if i in rank), key=lambda link_id: rank[link_id])

    def push_one(self, link_id: uuid.UUID) -> PushOutcome:
        connection_id, item_id = self._link_subject(link_id)
        if connection_id in self.context.pacing.held(self.context.clock.now()):
            # An earlier push of this batch found no write slot: hand the rest back untouched.
            self._release_link(link_id)
            return PushOutcome.deferred
        if connection_id is None:  # the link went away meanwhile
            return self._push_one(link_id, connection_id)
        with self.context.slots.occupy(connection_id) as entered:
            if not entered:
                # Other threads of this process took all its slots since the claim.
                self._release_link(link_id)
                return PushOutcome.deferred
            with bind_log_context(connection_id=connection_id, item_id=item_id):
                outcome = self._push_one(link_id, connection_id)
        if outcome.is_tracker_write:
            record_push(connection_id, outcome)
        return outcome

    def _link_subject(self, link_id: uuid.UUID) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """The connection and the item (or goal) of a link, bound to every log line of its push."""
        query = select(
            col(ExternalLink.connection_id), col(ExternalLink.item_id), col(ExternalLink.goal_id)
        ).where(col(ExternalLink.id) == link_id)
        with Session(self.context.engine) as session:
            row = session.execute(query).first()
        if row is None:
            return None, None
        return row[0], row[1] or row[2]

    def _push_one(self, link_id: uuid.UUID, connection_id: uuid.UUID | None) -> PushOutcome:
        try:
            return push_link(self.context, link_id)
        except PushDeferred as deferred:
            self._defer_link(link_id, deferred)
            return PushOutcome.deferred
        except (RateLimited, AuthFailed) as exc:
            record_error(connection_id, error_kind(exc))
            released = self._release_link(link_id)
            if released is not None:
                self._connection_failed(released, exc)
            return PushOutcome.rate_limited if isinstance(exc, RateLimited) else PushOutcome.paused
        except ConnectorError as exc:
            record_error(connection_id, error_kind(exc))
            return self._link_failed(link_id, str(exc))
        except Exception as exc:  # a bug must not stop the worker; it counts against the link
            log.exception("push of link %s failed", link_id)
            record_error(connection_id, "internal")
            return self._link_failed(link_id, f"internal error: {type(exc).__name__}: {exc}")

    def _defer_link(self, link_id: uuid.UUID, deferred: PushDeferred) -> None:
        with Session(self.context.engine) as session:
            row = session.get(ExternalLink, link_id)
            if row is None:
                return
            if not isinstance(deferred, WaitingForWriteSlot):
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

    def _link_failed(self, link_id: uuid.UUID, error: str) -> PushOutcome:
        now = self.context.clock.now()
        with Session(self.context.engine) as session:
            row = session.get(ExternalLink, link_id)
            if row is None:
                return PushOutcome.gone
            row.attempts += 1
            row.last_error = error[:1000]
            row.leased_by = row.lease_until = None
            if row.attempts >= self.context.settings.sync_max_attempts:
                row.dead = True
                log.warning("link %s is dead after %d attempts: %s", link_id, row.attempts, error)
            else:
                row.next_attempt_at = now + next_attempt_delay(row.attempts)
                if row.attempts == 1:  # the transition only; later attempts are in the metrics
                    log.warning("push of link %s failing: %s", link_id, error)
            session.add(row)
            session.commit()
            return PushOutcome.dead if row.dead else PushOutcome.failed

    def idle_wait(self, idle_seconds: float) -> float:
        """How long a worker with nothing to do may wait: at most until a held write slot opens.

        So a paced bulk push resumes the moment the tracker allows it.
        """
        earliest = self.context.pacing.earliest()
        if earliest is None:
            return idle_seconds
        return max(0.0, min(idle_seconds, (earliest - self.context.clock.now()).total_seconds()))

    # --- outbound: notifications and weekly reviews ---------------------------------------------

    def run_outbound(self) -> int:
        """Publish goal health changes, send due notifications and, now and then, last week's
        reviews; returns deliveries.

        Reviews are enqueued, and posted on the goal mirrors of plans with
        ``post_reviews_to_trackers``, and their weekly digests queued; nudges are decided every
        minute, by one engine of all the workers on the database. Messages to people are sent by
        the people loop (sync/people_loop.py). The worker loop calls this after each step, so
        subscribers hear of a pulled status change within a loop, and of the health change it
        made within ``HEALTH_CHECK_INTERVAL``.
        """
        now = self.context.clock.now()
        if self._next_review_check is None or now >= self._next_review_check:
            self._next_review_check = now + REVIEW_CHECK_INTERVAL
            self.enqueue_reviews(now)
            post_review_comments(self.context, now)
            # Once last week's review is frozen (just above), its digest goes to the plan's people.
            send_weekly_digests(self.context.engine, self.context.settings, now)
        if self._next_nudge_check is None or now >= self._next_nudge_check:
            # This engine's copy of the shared due time: the row is read only once it is reached.
            turn = take_turn(self.context.engine, NUDGE_CHECK, now, NUDGE_CHECK_INTERVAL)
            self._next_nudge_check = turn.next_check
            if turn.won:
                run_nudge_round(self.context.engine, self.context.settings, now)
        if self._next_mirror_refresh is None or now >= self._next_mirror_refresh:
            self._next_mirror_refresh = now + MIRROR_REFRESH_INTERVAL
            refresh_goal_mirrors(self.context, now)
        if self._next_health_check is None or now >= self._next_health_check:
            self._next_health_check = now + HEALTH_CHECK_INTERVAL
            publish_goal_health(self.context.engine, self.context.settings, now)
        return deliver_due_notifications(self.context.engine, now, settings=self.context.settings)

    def enqueue_reviews(self, now: datetime) -> int:
        """``review.ready`` once per plan and week (the event id is derived from both)."""
        with Session(self.context.engine) as session:
            # Two workers checking at the same moment would both miss the other's event: on
            # PostgreSQL one of them enqueues and the other skips until its next check.
            if self.context.engine.dialect.name == "postgresql":
                locked = session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": REVIEW_LOCK_KEY}
                ).scalar()
                if not locked:
                    return 0
            count = enqueue_ready_reviews(session, self.context.settings, now=now)
            session.commit()
        if count:
            log.info("enqueued %d weekly review notification(s)", count)
        return count

    # --- a whole step
    # ------------------------------------------------------------------------------

    def step(self) -> StepResult:
        result = StepResult()
        result.deliveries = self.process_deliveries()
        result.pulls = self.pull_due()
        now = self.context.clock.now()
        if self._next_move_check is None or now >= self._next_move_check:
            self._next_move_check = now + MOVE_CHECK_INTERVAL
            follow_moves(self.context.engine, now=now)
        ensure_links(self.context.engine)
        # Up to BATCH pushes a step, claimed PUSH_BATCH at a time (see PUSH_BATCH).
        while sum(result.pushes.values()) < BATCH:
            pushed = self.push_pending()
            if not pushed:
                break
            result.pushes.update(pushed)
        result.errors = result.pushes[PushOutcome.failed] + result.pushes[PushOutcome.dead]
        return result

    def run_pass(
        self,
        connection_id: uuid.UUID | None = None,
        progress: Callable[[Counter[PushOutcome]], None] | None = None,
        max_seconds: float = 3600.0,
    ) -> Counter[str]:
        """One full pass in the foreground; returns counts per push outcome, and of deliveries
        and pulls.

        Deliveries, a pull of every (or one) connection, then every pending push, waiting for write
        slots when paced.
        """
        totals: Counter[str] = Counter()
        # Deliveries needing the tracker are processed one connection per call (the others are
        # handed back, see sync/deliveries.py): call until nothing is left to claim.
        for _ in range(100):
            processed = self.process_deliveries(limit=10_000)
            totals["deliveries"] += processed
            if not processed:
                break
        query = select(col(Connection.id)).where(*_connection_usable(self.context.clock.now()))
        if connection_id is not None:
            query = query.where(col(Connection.id) == connection_id)
        with Session(self.context.engine) as session:
            connection_ids = list(session.execute(query).scalars())
        for each in connection_ids:
            totals["pulls"] += self.pull_due(force_connection=each)
        follow_moves(self.context.engine, now=self.context.clock.now(), limit=100_000)
        ensure_links(self.context.engine, limit=100_000)
        refresh_goal_mirrors(self.context, self.context.clock.now())
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
