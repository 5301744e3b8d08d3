"""Workers: threads that run engine steps until told to stop.

``planbridge worker --concurrency N`` runs N threads in one process (default 4);
``planbridge serve`` runs 2 embedded threads (unless ``--no-worker``). SIGTERM and SIGINT set a stop
flag: each thread finishes the step it is in (so no claimed work is abandoned half-done) and exits;
leases of anything a killed process held expire after ``settings.sync_lease_seconds``.

A slow tracker never takes every thread. At most ``connection_threads`` threads of a process
(default 1, ``planbridge worker --connection-threads N``) are in one connection's tracker calls at
once (sync/connection_slots.py): a connection whose slots are all taken is left out of the claims
of pushes and pulls (the ``held`` list that also leaves out connections waiting for a write slot),
work claimed just before its slots filled up is handed back, and a step claims pulls one at a time
and pushes of one connection at a time, so nothing of another connection waits behind a hanging
call. Webhook deliveries whose hints carry the object (the usual case) need no tracker and are
applied whatever the tracker does; the few that need it take a slot too (sync/deliveries.py).
So with N threads, N - 1 connections can hang at once and the others still have a thread. Why 1
per connection by default: the trackers' own rate limits (GitHub 80 writes a minute, Trello 10
requests a second per token) bound one connection's pushes more than one thread does, and more
worker processes still add threads per connection (scale-out); a single Jira connection with a
large backlog and no slow peers is the case for raising it. Tracker calls are I/O, so threads are
cheap: the defaults are 4 threads per worker process and 2 in ``serve``. With ``--concurrency 1``
the single thread can still be held by one slow tracker (up to the connector's timeout per call).
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
from sync.connection_slots import ConnectionSlots
from sync.context import EngineContext
from sync.deliveries import DELIVERY_BATCH
from sync.engine import SyncEngine
from sync.people_loop import PeopleLoop

log = logging.getLogger("planbridge.sync")
IDLE_SECONDS = 1.0
# Threads of ``planbridge worker`` and of the worker embedded in ``planbridge serve`` (the docstring
# says why); at most CONNECTION_THREADS of them in one connection's tracker calls at once.
WORKER_THREADS = 4
EMBEDDED_WORKER_THREADS = 2
CONNECTION_THREADS = 1
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
        connection_threads: int = CONNECTION_THREADS,
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
        # One set of slots for all the threads: the cap is per process.
        self.slots = ConnectionSlots(connection_threads)
        self._threads = [
            threading.Thread(
                target=self._loop,
                args=(
                    EngineContext(
                        engine,
                        settings,
                        f"{self.name}-{index}",
                        clock or SystemClock(),
                        slots=self.slots,
                    ),
                ),
                name=f"{self.name}-{index}",
                daemon=True,
            )
            for index in range(threads)
        ]
        # Messages to people have their own thread (sync/people_loop.py): a slow mail server
        # never holds an engine thread.
        self._people_thread = threading.Thread(
            target=PeopleLoop(
                EngineContext(engine, settings, f"{self.name}-people", clock or SystemClock())
            ).run,
            args=(self.stop_requested, idle_seconds),
            name=f"{self.name}-people",
            daemon=True,
        )

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
        for thread in [*self._threads, self._people_thread]:
            thread.start()
        log.info("%s started with %d thread(s)", self.name, len(self._threads))
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_requested.set()
        self._wake.set()
        for thread in [*self._threads, self._people_thread]:
            thread.join(timeout=timeout)

    def join(self) -> None:
        for thread in [*self._threads, self._people_thread]:
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
    """The worker threads ``planbridge serve`` runs beside the API (SIGTERM is uvicorn's)."""
    return Worker(engine, settings, threads=EMBEDDED_WORKER_THREADS, name="embedded").start()
