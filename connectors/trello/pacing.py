"""Client-side pacing to Trello's per-token budget, on an injectable clock (tests never sleep)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# Trello counts a request when it arrives, we count it when it leaves: a token comes back this much
# later than the window, so network delay can never squeeze 101 requests into Trello's window.
SAFETY_MARGIN_SECONDS = 0.25


class RequestPacer:
    """A bucket of ``requests`` tokens; each spent token comes back one window after its use.

    A classic bucket (capacity 100, refilled at 10 per second) would admit up to 200 requests in
    some 10-second span -- a full burst plus the refill -- and trip Trello's 100 per 10 s. Returning
    each token exactly one window after it was spent keeps every window within the budget.
    """

    def __init__(
        self,
        requests: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = SAFETY_MARGIN_SECONDS,
    ) -> None:
        self.requests = requests
        self.seconds = seconds
        self._hold = seconds + margin
        self._clock = clock
        self._sleep = sleep
        self._spent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def _release_returned_tokens(self, now: float) -> None:
        while self._spent and self._spent[0] + self._hold <= now:
            self._spent.popleft()

    def wait_time(self) -> float:
        """Seconds until the next request may go (0 when a token is free)."""
        with self._lock:
            now = self._clock()
            self._release_returned_tokens(now)
            if len(self._spent) < self.requests:
                return 0.0
            return self._spent[0] + self._hold - now

    def acquire(self) -> None:
        """Take a token, sleeping until one comes back when the window is used up."""
        while True:
            with self._lock:
                now = self._clock()
                self._release_returned_tokens(now)
                if len(self._spent) < self.requests:
                    self._spent.append(now)
                    return
                delay = self._spent[0] + self._hold - now
            self.waited_seconds += delay
            self._sleep(delay)
