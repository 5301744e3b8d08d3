"""Write pacing: keep each connection's tracker writes under the tracker's documented limits.

Choice: the sliding-window log lives in the database (table ``connection_write``, one row per
write),
so every worker process on every host shares one budget per connection. Reserving a slot is one
short
transaction that first takes the connection's write lock (PostgreSQL: ``SELECT ... FOR UPDATE`` on
the
connection row; SQLite: the prune ``DELETE`` takes the database write lock), then counts the writes
in
each window and inserts a row when every window has room. The cost is one small transaction per
tracker
write, far below the trackers' own latency.

A worker that gets no slot does not sleep holding work: the push is handed back unchanged and the
connection's pushes are skipped until the slot opens (``PacingGate``), so pulls and webhook
deliveries,
which are reads, keep flowing while a bulk push waits for its window.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.models import Connection, ConnectionWrite
from connectors.base import RateWindow

# Each window is counted as this much longer than documented: the tracker counts a write when it
# arrives, a little after we reserved it, so a write reserved exactly one window after an earlier
# one can land inside the tracker's window (a 403/429 for one request in a bulk push). 2% keeps
# 98% of the allowed rate and tolerates 1.2 s of skew on GitHub's minute, 0.2 s on Trello's 10 s.
WINDOW_MARGIN = 0.02


def reserve_write(
    engine: Engine, connection_id: uuid.UUID, limits: Sequence[RateWindow], now: datetime
) -> float:
    """Reserve one write now: 0.0 when reserved, else the seconds until a slot opens (nothing
    kept)."""
    if not limits:
        return 0.0
    longest = max(window.seconds for window in limits) * (1 + WINDOW_MARGIN)
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(
                select(col(Connection.id))
                .where(col(Connection.id) == connection_id)
                .with_for_update()
            )
        # Pruning first also takes SQLite's write lock, so the counts below cannot race another
        # writer.
        session.execute(
            delete(ConnectionWrite).where(
                col(ConnectionWrite.connection_id) == connection_id,
                col(ConnectionWrite.at) < now - timedelta(seconds=longest),
            )
        )
        wait = 0.0
        for window in limits:
            seconds = window.seconds * (1 + WINDOW_MARGIN)
            start = now - timedelta(seconds=seconds)
            in_window = session.execute(
                select(func.count())
                .select_from(ConnectionWrite)
                .where(
                    col(ConnectionWrite.connection_id) == connection_id,
                    col(ConnectionWrite.at) > start,
                )
            ).scalar_one()
            if in_window >= window.requests:
                # The slot opens when the write that pushed the window over its limit leaves it.
                oldest_blocking = session.execute(
                    select(col(ConnectionWrite.at))
                    .where(
                        col(ConnectionWrite.connection_id) == connection_id,
                        col(ConnectionWrite.at) > start,
                    )
                    .order_by(col(ConnectionWrite.at))
                    .offset(in_window - window.requests)
                    .limit(1)
                ).scalar_one()
                opens = oldest_blocking + timedelta(seconds=seconds)
                wait = max(wait, (opens - now).total_seconds(), 0.001)
        if wait > 0:
            session.commit()  # keep the prune
            return wait
        session.add(ConnectionWrite(connection_id=connection_id, at=now))
        session.commit()
    return 0.0


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
