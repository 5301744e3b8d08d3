"""GitHub's secondary rate limits as points, the way its documentation counts them.

"No more than 900 points per minute are allowed for REST API endpoints": GET, HEAD and OPTIONS
cost 1 point, POST, PATCH, PUT and DELETE 5; and "no more than 80 content-generating requests per
minute and no more than 500 content-generating requests per hour" (docs.github.com, "Rate limits
for the REST API", secondary rate limits). Exceeding one answers 403 or 429 with ``retry-after``.
"""

from __future__ import annotations

import threading
from collections import deque

from tests.trackers.faults import EmulatorClock

CONTENT_CREATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def points_of(method: str) -> int:
    return 5 if method.upper() in CONTENT_CREATING else 1


class PointsWindow:
    """At most ``points`` per ``seconds`` per key: a sliding window of spent points."""

    def __init__(self, clock: EmulatorClock, points: int, seconds: float) -> None:
        self.clock = clock
        self.points = points
        self.seconds = seconds
        self._lock = threading.Lock()
        self._history: dict[str, deque[tuple[float, int]]] = {}

    def _trim(self, key: str, now: float) -> deque[tuple[float, int]]:
        history = self._history.setdefault(key, deque())
        while history and history[0][0] <= now - self.seconds:
            history.popleft()
        return history

    def retry_after(self, key: str, cost: int) -> float | None:
        """Seconds until ``key`` may spend ``cost`` points, or None if it may now."""
        with self._lock:
            now = self.clock.timestamp()
            history = self._trim(key, now)
            spent = sum(points for _, points in history)
            if spent + cost <= self.points:
                return None
            # The oldest entries leave the window first; wait until enough of them have.
            for at, points in history:
                spent -= points
                if spent + cost <= self.points:
                    return max(0.0, at + self.seconds - now)
            return self.seconds

    def record(self, key: str, cost: int) -> None:
        with self._lock:
            now = self.clock.timestamp()
            self._trim(key, now).append((now, cost))
