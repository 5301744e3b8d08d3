"""Every retry and back-off policy of planbridge (the only module that uses tenacity).

Three layers, from short to long:

1. In-call: an idempotent tracker call (read, update) that fails with ``Transient`` is retried a few
   times at once with a short exponential wait (``call_with_retries``). Creates are never retried in
   the call: a create whose answer was lost may have reached the tracker, so the next attempt looks
   the marker up first (sync/push.py).
2. Per link: a push that still fails is recorded on its link and tried again after an exponentially
   growing delay (``next_attempt_delay``); after ``settings.sync_max_attempts`` attempts the link is
   ``dead`` until someone retries it through the API.
3. Per connection: ``RateLimited`` stops all work on the connection until ``retry_after`` has passed
   (``Connection.backoff_until``), and a failing pull pass backs off the connection's next poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from connectors.base import Transient

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """In-call retries of Transient errors; tests shrink the waits to zero."""

    attempts: int = 3
    first_wait_seconds: float = 0.2
    max_wait_seconds: float = 2.0


DEFAULT_POLICY = RetryPolicy()
NO_WAIT_POLICY = RetryPolicy(attempts=3, first_wait_seconds=0.0, max_wait_seconds=0.0)

# Per-link back-off: 10 s, 20 s, 40 s ... capped at one hour.
LINK_BACKOFF_FIRST = timedelta(seconds=10)
LINK_BACKOFF_MAX = timedelta(hours=1)
# A failing pull pass: 30 s, 60 s, ... capped at the connection's own interval times four.
PULL_BACKOFF_FIRST = timedelta(seconds=30)


def call_with_retries(policy: RetryPolicy, call: Callable[[], T]) -> T:
    """Run an idempotent tracker call, retrying Transient errors; the last error is re-raised."""
    retrying = Retrying(
        retry=retry_if_exception_type(Transient),
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.first_wait_seconds, max=policy.max_wait_seconds),
        reraise=True,
    )
    return retrying(call)


def next_attempt_delay(attempts: int) -> timedelta:
    """Delay before a link's next push after ``attempts`` failed ones (exponential, capped)."""
    exponent = min(max(attempts - 1, 0), 20)
    delay: timedelta = min(LINK_BACKOFF_FIRST * (2**exponent), LINK_BACKOFF_MAX)
    return delay


def next_pull_delay(consecutive_failures: int, interval_seconds: int) -> timedelta:
    exponent = min(max(consecutive_failures - 1, 0), 20)
    cap = timedelta(seconds=max(interval_seconds, 30) * 4)
    delay: timedelta = min(PULL_BACKOFF_FIRST * (2**exponent), cap)
    return delay


def rate_limit_backoff(retry_after_seconds: float) -> timedelta:
    """How long a rate-limited connection waits: what the tracker asked, at least one second."""
    return timedelta(seconds=max(1.0, retry_after_seconds))
