"""Pacing: keep tracker requests under the tracker's documented limits, across all workers.

Choice: the sliding-window log lives in the database (table ``connection_write``, one row per
paced request), so every worker process on every host shares one budget. Reserving a slot is one
short transaction that first takes the budget's lock (PostgreSQL: a transaction-scoped advisory
lock on the budget key; SQLite: the prune ``DELETE`` takes the database write lock), then counts
the requests in each window and inserts a row when every window has room. The cost is one small
transaction per paced request, far below the trackers' own latency.

Two kinds of budget, one log:

- Write limits per connection (GitHub: 80 content-creating requests a minute, 500 an hour). The
  engine reserves the slot right before the write (``reserve_write``); reads are not paced.
- Request limits per credential (Trello: 100 requests per 10 s per token, reads included). The
  connector paces every one of its requests through ``SharedRequestPacer``, which reserves in the
  same log under the credential's budget key, so two connections sharing a token share one
  budget. The engine only looks (``slot_wait``) before a write, to hand the push back instead of
  waiting; it never reserves for such a connector itself, so each request is counted once.

One margin, counted once: a slot comes back one window plus ``WINDOW_MARGIN`` of it after the
moment it was reserved, right before the request was sent. The tracker counts a request when it
arrives, a little after; the margin covers the difference in that delay between two requests one
window apart and the clock skew between worker hosts. A request whose answer took longer than the
margin may have been counted by the tracker at any moment before the answer, so its slot is then
re-dated to the answer (``SharedRequestPacer.settle``).

A worker that gets no slot does not sleep holding work: the push is handed back unchanged and the
connection's pushes are skipped until the slot opens (``PacingGate``), so pulls and webhook
deliveries keep flowing while a bulk push waits for its window.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.models import ConnectionWrite
from connectors.base import RateWindow
from sync.clock import Clock

# Each window is counted as this much longer than documented (see the module docstring): 2% keeps
# 98% of the allowed rate and tolerates 1.2 s of skew on GitHub's minute, 0.2 s on Trello's 10 s.
WINDOW_MARGIN = 0.02


def connection_budget(connection_id: uuid.UUID) -> str:
    """The budget key of a tracker that limits writes per connection."""
    return f"connection:{connection_id}"


def _lock_budget(session: Session, budget: str) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: the prune DELETE below takes the database's write lock
    key = int.from_bytes(hashlib.sha256(budget.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _wait_for_slot(
    session: Session, budget: str, limits: Sequence[RateWindow], now: datetime
) -> float:
    """Seconds until every window of ``budget`` has room at ``now`` (0.0: it has now)."""
    wait = 0.0
    for window in limits:
        seconds = window.seconds * (1 + WINDOW_MARGIN)
        start = now - timedelta(seconds=seconds)
        in_window = session.execute(
            select(func.count())
            .select_from(ConnectionWrite)
            .where(col(ConnectionWrite.budget) == budget, col(ConnectionWrite.at) > start)
        ).scalar_one()
        if in_window >= window.requests:
            # The slot opens when the request that pushed the window over its limit leaves it.
            oldest_blocking = session.execute(
                select(col(ConnectionWrite.at))
                .where(col(ConnectionWrite.budget) == budget, col(ConnectionWrite.at) > start)
                .order_by(col(ConnectionWrite.at))
                .offset(in_window - window.requests)
                .limit(1)
            ).scalar_one()
            opens = oldest_blocking + timedelta(seconds=seconds)
            wait = max(wait, (opens - now).total_seconds(), 0.001)
    return wait


def reserve_slot(
    engine: Engine,
    budget: str,
    limits: Sequence[RateWindow],
    now: datetime,
    connection_id: uuid.UUID,
) -> tuple[float, uuid.UUID | None]:
    """Reserve one request of ``budget`` now: (0.0, row id), else (seconds until a slot, None)."""
    if not limits:
        return 0.0, None
    longest = max(window.seconds for window in limits) * (1 + WINDOW_MARGIN)
    with Session(engine) as session:
        _lock_budget(session, budget)
        session.execute(
            delete(ConnectionWrite).where(
                col(ConnectionWrite.budget) == budget,
                col(ConnectionWrite.at) < now - timedelta(seconds=longest),
            )
        )
        wait = _wait_for_slot(session, budget, limits, now)
        if wait > 0:
            session.commit()  # keep the prune
            return wait, None
        row = ConnectionWrite(connection_id=connection_id, budget=budget, at=now)
        session.add(row)
        session.commit()
        return 0.0, row.id


def reserve_write(
    engine: Engine, connection_id: uuid.UUID, limits: Sequence[RateWindow], now: datetime
) -> float:
    """Reserve one write of the connection now: 0.0 when reserved, else the seconds until a slot
    opens (nothing kept)."""
    wait, _ = reserve_slot(engine, connection_budget(connection_id), limits, now, connection_id)
    return wait


def slot_wait(engine: Engine, budget: str, limits: Sequence[RateWindow], now: datetime) -> float:
    """Seconds until ``budget`` has a free slot (0.0: now); reserves nothing, takes no lock."""
    if not limits:
        return 0.0
    with Session(engine) as session:
        return _wait_for_slot(session, budget, limits, now)


@dataclass(frozen=True)
class RequestSlot:
    row_id: uuid.UUID | None
    sent_at: datetime


class SharedRequestPacer:
    """A connector's request pacer backed by the shared log (``RequestPacer`` in connectors/base).

    ``acquire`` reserves a slot, sleeping in place until one opens: it runs inside a connector
    call, where handing the work back is no longer possible. Before a write the engine checks
    ``slot_wait`` and defers instead, so in a bulk push the sleep is only ever the short race
    with another worker for the same slot.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        connection_id: uuid.UUID,
        budget: str,
        limits: Sequence[RateWindow],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.connection_id = connection_id
        self.budget = budget
        self.limits = tuple(limits)
        self.margin = timedelta(
            seconds=min((w.seconds for w in self.limits), default=0.0) * WINDOW_MARGIN
        )
        self.waited_seconds = 0.0

    def acquire(self) -> RequestSlot:
        while True:
            now = self.clock.now()
            wait, row_id = reserve_slot(
                self.engine, self.budget, self.limits, now, self.connection_id
            )
            if wait <= 0:
                return RequestSlot(row_id, now)
            self.waited_seconds += wait
            self.clock.sleep(wait)

    def settle(self, slot: object) -> None:
        if not isinstance(slot, RequestSlot):
            raise TypeError("settle() takes the slot acquire() returned")
        now = self.clock.now()
        if slot.row_id is None or now - slot.sent_at <= self.margin:
            return
        with Session(self.engine) as session:
            session.execute(
                update(ConnectionWrite)
                .where(col(ConnectionWrite.id) == slot.row_id)
                .values(at=now - self.margin)
            )
            session.commit()


class PacingGate:
    """In-process memory of which connections are waiting for a write slot, and until when."""

    def __init__(self) -> None:
        self._until: dict[uuid.UUID, datetime] = {}
        self._lock = threading.Lock()

    def hold(self, connection_id: uuid.UUID, until: datetime) -> None:
        with self._lock:
            self._until[connection_id] = max(until, self._until.get(connection_id, until))

    def held(self, now: datetime) -> list[uuid.UUID]:
        with self._lock:
            for connection_id in [c for c, until in self._until.items() if until <= now]:
                del self._until[connection_id]
            return list(self._until)

    def earliest(self) -> datetime | None:
        with self._lock:
            return min(self._until.values(), default=None)
