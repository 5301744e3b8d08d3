"""Slow down repeated failed authentication from one client (API token guessing).

After ``max_failures`` failed token checks from one client address within ``window_seconds``, every
authenticated request from that address answers 429 with ``Retry-After`` until the oldest failure
leaves the window. The check runs *before* the token is looked up, so a throttled client cannot keep
guessing; successful requests never count.

State is kept in each process (an API replica counts its own failures): the limit is a brake on
guessing, not an accounting record, and a database round trip per failure would hand an attacker a
cheap way to load the database. With N replicas behind a balancer the effective limit is at most N
times the setting, still far below what guessing a 256-bit token would need.

The client address is what the ASGI server reports; behind a reverse proxy run uvicorn with
``--proxy-headers``/``--forwarded-allow-ips`` so that it is the caller's, not the proxy's.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import Request
from starlette.exceptions import HTTPException

DEFAULT_MAX_FAILURES = 10
DEFAULT_WINDOW_SECONDS = 60.0
# Bounds memory under a spray from many addresses: the least recently failing clients are forgotten.
MAX_TRACKED_CLIENTS = 10_000
_creation_lock = threading.Lock()


class AuthThrottle:
    def __init__(
        self,
        max_failures: int = DEFAULT_MAX_FAILURES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.clock = clock
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
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
            failures = self._recent(client, now)
            if failures is None or len(failures) < self.max_failures:
                return None
            # The client may try again once enough failures have left the window.
            release_at = failures[len(failures) - self.max_failures] + self.window_seconds
            return max(1, math.ceil(release_at - now))

    def record_failure(self, client: str) -> None:
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
    """The app's throttle, created on first use (one per app, so tests never share state)."""
    state = request.app.state
    with _creation_lock:
        throttle: AuthThrottle | None = getattr(state, "auth_throttle", None)
        if throttle is None:
            throttle = AuthThrottle()
            state.auth_throttle = throttle
    return throttle


def refuse_if_throttled(request: Request) -> None:
    retry_after = throttle_for(request).retry_after(client_address(request))
    if retry_after is not None:
        raise TooManyFailedAuthentications(retry_after)


def record_failed_authentication(request: Request) -> None:
    throttle_for(request).record_failure(client_address(request))
