"""Client-side pacing to Trello's per-token budget, on an injectable clock (tests never sleep)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# Slack on top of the window for clock differences between planbridge and Trello.
SAFETY_MARGIN_SECONDS = 0.25


class Token:
    """One spent request slot; it comes back one window after ``spent_at``."""

    __slots__ = ("spent_at",)

    def __init__(self, spent_at: float) -> None:
        self.spent_at = spent_at


class RequestPacer:
    """A bucket of ``requests`` tokens; each spent token comes back one window after its use.

    A classic bucket (capacity 100, refilled at 10 per second) would admit up to 200 requests in
    some 10-second span -- a full burst plus the refill -- and trip Trello's 100 per 10 s. Returning
    each token one window after it was used keeps every window within the budget. "Used" is when
    the answer came back (``settle``): Trello counted the request at some moment before that, so
    network delay can never squeeze an extra request into Trello's window.
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
        self._spent: deque[Token] = deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def _release_returned_tokens(self, now: float) -> None:
        while self._spent and self._spent[0].spent_at + self._hold <= now:
            self._spent.popleft()

    def wait_time(self) -> float:
        """Seconds until the next request may go (0 when a token is free)."""
        with self._lock:
            now = self._clock()
            self._release_returned_tokens(now)
            if len(self._spent) < self.requests:
                return 0.0
            return self._spent[0].spent_at + self._hold - now

    def acquire(self) -> Token:
        """Take a token, sleeping until one comes back when the window is used up."""
        while True:
            with self._lock:
                now = self._clock()
                self._release_returned_tokens(now)
                if len(self._spent) < self.requests:
                    token = Token(now)
                    self._spent.append(token)
                    return token
                delay = self._spent[0].spent_at + self._hold - now
            self.waited_seconds += delay
            self._sleep(delay)

    def settle(self, token: Token) -> None:
        """The request's answer (or failure) arrived: its window starts now."""
        with self._lock:
            token.spent_at = max(token.spent_at, self._clock())
