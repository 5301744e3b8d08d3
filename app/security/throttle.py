"""Slow down repeated failed authentication from one client (API token guessing).

After ``max_failures`` failed token checks from one client address within ``window_seconds``, every
further failed attempt from that address answers 429 with ``Retry-After`` until the window lets it
try again, and is not counted. A request with a valid token is always served, even from a throttled
address: one broken script behind a NAT or an office proxy must not lock out the whole office, and
as tokens are long random secrets, telling a right guess apart gives an attacker nothing.
Successful requests never count.

Each process keeps the failures it saw (a sliding window) and checks them without any I/O. On
PostgreSQL, where several API replicas share the database, each failure is also counted in the
shared ``auth_failure`` row of the client (one upsert, nothing on success; a window starts at the
client's first failure and lasts ``window_seconds``). The upsert answers with the shared count, so
the process that records the ``max_failures``-th failure blocks the client at once, and every other
replica blocks it on the first failure it sees after that: with N replicas a client gets at most
``max_failures + N - 1`` tries per window, not N times the limit. SQLite runs one process, so its
count stays in the process.

The client address is what the ASGI server reports; behind a reverse proxy run uvicorn with
``--proxy-headers``/``--forwarded-allow-ips`` so that it is the caller's, not the proxy's.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from app.db import utcnow

log = logging.getLogger(__name__)

DEFAULT_MAX_FAILURES = 10
DEFAULT_WINDOW_SECONDS = 60.0
# Bounds memory under a spray from many addresses: the least recently failing clients are forgotten.
MAX_TRACKED_CLIENTS = 10_000
# Rows of clients whose window has ended are deleted every this many failures a process records.
PURGE_EVERY = 256
_creation_lock = threading.Lock()


class SharedFailureCount:
    """The failure count per client in PostgreSQL's ``auth_failure`` table, shared by replicas."""

    _UPSERT = text(
        """
        INSERT INTO auth_failure (client, window_started_at, failures)
        VALUES (:client, :now, 1)
        ON CONFLICT (client) DO UPDATE SET
            failures = CASE WHEN auth_failure.window_started_at <= :window_start
                THEN 1 ELSE auth_failure.failures + 1 END,
            window_started_at = CASE WHEN auth_failure.window_started_at <= :window_start
                THEN :now ELSE auth_failure.window_started_at END
        RETURNING failures, window_started_at
        """
    )
    _PURGE = text("DELETE FROM auth_failure WHERE window_started_at <= :window_start")

    def __init__(self, engine: Engine, window_seconds: float) -> None:
        self.engine = engine
        self.window = timedelta(seconds=window_seconds)
        self._recorded = 0

    def record(self, client: str, now: datetime) -> tuple[int, datetime]:
        """Count one failure; returns the client's failures in its window and when it started."""
        window_start = now - self.window
        with self.engine.begin() as database:
            row = database.execute(
                self._UPSERT, {"client": client, "now": now, "window_start": window_start}
            ).one()
            self._recorded += 1
            if self._recorded % PURGE_EVERY == 0:
                database.execute(self._PURGE, {"window_start": window_start})
        return int(row[0]), row[1]


class AuthThrottle:
    def __init__(
        self,
        max_failures: int = DEFAULT_MAX_FAILURES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_TRACKED_CLIENTS,
        shared: SharedFailureCount | None = None,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.clock = clock
        self.max_clients = max_clients
        self.shared = shared
        self.wall_clock = wall_clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        # Clients the shared count blocked, until when (on ``clock``).
        self._blocked_until: OrderedDict[str, float] = OrderedDict()
        # Sync dependencies run in a thread pool: the bookkeeping needs a lock.
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window_seconds:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds the client must wait, or None when it may try now."""
        with self._lock:
            now = self.clock()
            release_at = self._blocked_until.get(client, 0.0)
            if release_at and release_at <= now:
                del self._blocked_until[client]
            failures = self._recent(client, now)
            if failures is not None and len(failures) >= self.max_failures:
                # The client may try again once enough failures have left the window.
                oldest_counted = failures[len(failures) - self.max_failures]
                release_at = max(release_at, oldest_counted + self.window_seconds)
            if release_at <= now:
                return None
            return max(1, math.ceil(release_at - now))

    def record_failure(self, client: str) -> None:
        self._record_locally(client)
        if self.shared is None:
            return
        now = self.wall_clock()
        try:
            count, window_started_at = self.shared.record(client, now)
        except SQLAlchemyError:
            # The database is what the token check needs too; the local count still brakes.
            log.warning("could not count a failed authentication in the database")
            return
        if count >= self.max_failures:
            remaining = (window_started_at - now).total_seconds() + self.window_seconds
            with self._lock:
                self._blocked_until[client] = self.clock() + remaining
                self._blocked_until.move_to_end(client)
                while len(self._blocked_until) > self.max_clients:
                    self._blocked_until.popitem(last=False)

    def _record_locally(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            failures = self._recent(client, now)
            if failures is None:
                failures = deque()
                self._failures[client] = failures
            self._failures.move_to_end(client)
            failures.append(now)
            # Keep only as many as the decision needs.
            while len(failures) > self.max_failures:
                failures.popleft()
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


class TooManyFailedAuthentications(HTTPException):
    """429 with Retry-After; an HTTPException so the problem handler passes the header through."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            f"Too many failed authentication attempts from this address; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttle_for(request: Request) -> AuthThrottle:
    """The app's throttle, created on first use (one per app, so tests never share state); on
    PostgreSQL it also counts failures in the database shared by the replicas."""
    state = request.app.state
    with _creation_lock:
        throttle: AuthThrottle | None = getattr(state, "auth_throttle", None)
        if throttle is None:
            engine: Engine = state.engine
            shared = (
                SharedFailureCount(engine, DEFAULT_WINDOW_SECONDS)
                if engine.dialect.name == "postgresql"
                else None
            )
            throttle = AuthThrottle(
                max_failures=state.settings.auth_failures_per_minute, shared=shared
            )
            state.auth_throttle = throttle
    return throttle


def refuse_if_throttled(request: Request) -> None:
    retry_after = throttle_for(request).retry_after(client_address(request))
    if retry_after is not None:
        raise TooManyFailedAuthentications(retry_after)


def record_failed_authentication(request: Request) -> None:
    throttle_for(request).record_failure(client_address(request))
