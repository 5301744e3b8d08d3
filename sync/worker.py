"""Workers: threads that run engine steps until told to stop.

``planbridge worker --concurrency N`` runs N threads in one process; ``planbridge serve`` runs one
embedded thread (unless ``--no-worker``). SIGTERM and SIGINT set a stop flag: each thread finishes
the
step it is in (so no claimed work is abandoned half-done) and exits; leases of anything a killed
process held expire after ``settings.sync_lease_seconds``.
"""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from collections.abc import Callable
from types import FrameType

from sqlalchemy.engine import Engine

from app.settings import Settings
from sync.clock import Clock, SystemClock
from sync.context import EngineContext
from sync.deliveries import DELIVERY_BATCH
from sync.engine import SyncEngine

log = logging.getLogger("planbridge.sync")
IDLE_SECONDS = 1.0
# How long a worker lets deliveries gather after a step that processed only a few: adds at most
# this to a delivery's processing delay, and batches of dozens instead of a few cut the CPU per
# delivery of the worker and of PostgreSQL.
DELIVERY_GATHER_SECONDS = 0.05


class Worker:
    """``threads`` engine loops sharing one stop flag and one wake-up signal."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        threads: int = 1,
        name: str | None = None,
        clock: Clock | None = None,
        idle_seconds: float = IDLE_SECONDS,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name or f"worker-{uuid.uuid4().hex[:8]}"
        self.stop_requested = threading.Event()
        self._wake = threading.Event()
        self._idle_seconds = idle_seconds
        self._on_step = on_step
        self._threads = [
            threading.Thread(
                target=self._loop,
                args=(
                    EngineContext(engine, settings, f"{self.name}-{index}", clock or SystemClock()),
                ),
                name=f"{self.name}-{index}",
                daemon=True,
            )
            for index in range(threads)
        ]

    def _loop(self, context: EngineContext) -> None:
        sync_engine = SyncEngine(context)
        try:
            while not self.stop_requested.is_set():
                try:
                    result = sync_engine.step()
                    # Notifications (e.g. of the status changes this step pulled) and reviews.
                    notified = sync_engine.run_outbound()
                except Exception:  # e.g. the database restarting: log, wait, go on
                    log.exception("engine step failed in %s", context.worker_id)
                    self._wake.wait(self._idle_seconds)
                    continue
                if self._on_step is not None and result.did_work:
                    self._on_step(context.worker_id)
                if not result.did_work and not notified:
                    self._wake.wait(sync_engine.idle_wait(self._idle_seconds))
                    self._wake.clear()
                elif 0 < result.deliveries < DELIVERY_BATCH and not (
                    result.pulls or sum(result.pushes.values())
                ):
                    # Only a few deliveries: let the next ones gather for a moment rather than
                    # run a whole step (claims, pull, push and notification queries) for each
                    # handful; under a webhook storm that step overhead was most of the cost.
                    self.stop_requested.wait(DELIVERY_GATHER_SECONDS)
        finally:
            context.close()

    def wake(self) -> None:
        """Run the next step now (a webhook just arrived)."""
        self._wake.set()

    def start(self) -> Worker:
        for thread in self._threads:
            thread.start()
        log.info("%s started with %d thread(s)", self.name, len(self._threads))
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_requested.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=timeout)

    def join(self) -> None:
        for thread in self._threads:
            while thread.is_alive():
                thread.join(timeout=0.5)

    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("%s: signal %d, finishing the current step", self.name, signum)
            self.stop_requested.set()
            self._wake.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)


def start_embedded_worker(settings: Settings, engine: Engine) -> Worker:
    """The one worker thread ``planbridge serve`` runs beside the API (SIGTERM is uvicorn's)."""
    return Worker(engine, settings, threads=1, name="embedded").start()
