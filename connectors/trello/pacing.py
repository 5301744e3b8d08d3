"""In-process pacing to Trello's per-token budget, on an injectable clock (tests never sleep).

The sync engine replaces this pacer with one backed by its database log (``sync/pacing.py``),
shared by every worker; this one paces a connector used on its own (a connection's ``check()``
when it is saved, scripts).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# A slot counts from the moment its request is sent, plus this share of the window: Trello counts
# a request when it arrives, so the margin covers the difference in network delay between two
# requests one window apart (tens of ms on a healthy path; 0.2 s on Trello's 10 s).
WINDOW_MARGIN = 0.02


class Token:
    """One spent request slot; it comes back one window (plus the margin) after ``spent_at``."""

    __slots__ = ("sent_at", "spent_at")

    def __init__(self, spent_at: float) -> None:
        self.sent_at = spent_at
        self.spent_at = spent_at


class RequestPacer:
    """A bucket of ``requests`` tokens; each spent token comes back one window after its use.

    A classic bucket (capacity 100, refilled at 10 per second) would admit up to 200 requests in
    some 10-second span -- a full burst plus the refill -- and trip Trello's 100 per 10 s. Returning
    each token one window after it was used keeps every window within the budget.

    "Used" is when the request was sent, plus ``margin`` of the window for the difference in
    network delay. An answer that took longer than the margin proves nothing about when Trello
    counted the request (anywhere before the answer), so such a token is counted from the answer
    instead (``settle``); on a healthy path that never happens and nothing is lost per window.
    """

    def __init__(
        self,
        requests: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = WINDOW_MARGIN,
    ) -> None:
        self.requests = requests
        self.seconds = seconds
        self.margin_seconds = seconds * margin
        self._hold = seconds + self.margin_seconds
        self._clock = clock
        self._sleep = sleep
        self._spent: deque[Token] = deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def _release_returned_tokens(self, now: float) -> None:
        # Tokens are re-dated by ``settle`` only ever later, so the deque is not strictly ordered:
        # release from the front while the front has come back (a later one waits its turn).
        while self._spent and self._spent[0].spent_at + self._hold <= now:
            self._spent.popleft()

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

    def settle(self, slot: object) -> None:
        """The request's answer (or failure) arrived; a slow one is counted from now."""
        if not isinstance(slot, Token):
            raise TypeError("settle() takes the token acquire() returned")
        with self._lock:
            now = self._clock()
            if now - slot.sent_at > self.margin_seconds:
                slot.spent_at = now - self.margin_seconds
