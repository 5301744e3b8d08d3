"""What every tracker emulator shares: a clock tests can move, limit windows, fault injection.

An emulator keeps one ``EmulatorClock`` (timestamps, rate-limit windows, index lag), one
``WindowLimiter`` per documented limit, and one ``FaultInjector``; its ASGI app asks
``FaultInjector.take(method, path)`` at the top of every request and acts on the fault it gets:

    fault = emulator.faults.take(request.method, request.url.path)
    if fault is not None and fault.kind == "rate_limit": ...   # answer in the tracker's own format

``apply_latency`` and ``drop_connection`` handle the kinds that look the same for every tracker
(latency, a dropped connection); the tracker-specific ones (rate_limit, server_error,
lose_create_response) are answered by the emulator itself, because their bodies and headers are the
point.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.types import Send

FAULT_KINDS = frozenset(
    {"rate_limit", "server_error", "drop_connection", "lose_create_response", "latency"}
)


class EmulatorClock:
    """Wall time plus an offset tests move forward; every emulator timestamp comes from here."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        real_now = datetime.now(UTC)
        self._offset = (start - real_now) if start is not None else timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)


class WindowLimiter:
    """At most ``requests`` per ``seconds`` per key: a sliding window on the emulator clock."""

    def __init__(self, clock: EmulatorClock, requests: int, seconds: float) -> None:
        self.clock = clock
        self.requests = requests
        self.seconds = seconds
        self._lock = threading.Lock()
        self._history: dict[str, deque[float]] = {}

    def _trim(self, key: str, now: float) -> deque[float]:
        history = self._history.setdefault(key, deque())
        while history and history[0] <= now - self.seconds:
            history.popleft()
        return history

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may make another request, or None if it may now."""
        with self._lock:
            now = self.clock.timestamp()
            history = self._trim(key, now)
            if len(history) < self.requests:
                return None
            return max(0.0, history[0] + self.seconds - now)

    def record(self, key: str) -> None:
        with self._lock:
            now = self.clock.timestamp()
            self._trim(key, now).append(now)

    def used(self, key: str) -> int:
        with self._lock:
            return len(self._trim(key, self.clock.timestamp()))


@dataclass
class Fault:
    kind: str
    remaining: int
    options: dict[str, Any] = field(default_factory=dict)
    # Only requests with this method / containing this path fragment trigger the fault (None: any).
    method: str | None = None
    path_contains: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains is None or self.path_contains in path


class FaultInjector:
    """Faults queued by tests, consumed by the next matching requests (first queued, first used)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        **options: Any,
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault '{kind}' (known: {', '.join(sorted(FAULT_KINDS))})")
        if kind == "lose_create_response" and method is None:
            method = "POST"  # only a create can have its response lost after the commit
        with self._lock:
            self._faults.append(Fault(kind, count, options, method, path_contains))

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request must suffer, if any (one use of its count)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


async def apply_latency(fault: Fault) -> None:
    """Real (not emulated) delay, so client timeouts fire as they would against a slow tracker."""
    await asyncio.sleep(float(fault.options.get("seconds", 1.0)))


async def drop_connection(send: Send) -> None:
    """Start a response, then stop: the client sees the connection close mid-answer.

    uvicorn closes the socket when an app returns with a response body promised but not sent,
    which is what a reset after the server committed looks like to a client.
    """
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
