"""Time for the engine: the system clock, or an accelerated one for benchmarks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class AcceleratedClock:
    """Runs ``factor`` times faster than wall time from the moment it is made
    (bench/push_pacing.py)."""

    def __init__(self, factor: float, start: datetime | None = None) -> None:
        self.factor = factor
        self._origin_wall = time.monotonic()
        self._origin = start or datetime.now(UTC)

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin_wall) * self.factor
        return self._origin + timedelta(seconds=elapsed)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.factor)
