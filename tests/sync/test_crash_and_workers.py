"""Worker processes: SIGKILLed at random moments while pushing, and four sharing PostgreSQL.

The tracker is the memory connector's file store, so it survives the killed workers exactly like a
real tracker would; every run ends with "each item exists exactly once in the tracker".
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.db import make_engine
from app.models import ActionItem, ExternalLink, ItemEvent
from app.settings import Settings
from sync.clock import SystemClock
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.retry import NO_WAIT_POLICY
from sync.worker import Worker
from tests.conftest import TEST_SECRET_KEY, Tenant
from tests.sync.conftest import Seeded, seed

pytestmark = pytest.mark.slow
WORKER_COMMAND = [sys.executable, "-c", "from app.cli import main; main()", "worker"]


class LaterClock(SystemClock):
    """The system clock moved past every lease a killed worker could still hold."""

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=30)


def _start_worker(database_url: str, concurrency: int = 1) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PLANBRIDGE_DATABASE_URL": database_url,
        "PLANBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
        "PLANBRIDGE_SYNC_LEASE_SECONDS": "5",
        "PLANBRIDGE_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [*WORKER_COMMAND, "--concurrency", str(concurrency)],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _seed_many(
    client: TestClient, tenant: Tenant, engine: Engine, store_path: Path, items: int, **config: Any
) -> Seeded:
    """A seeded plan; the items are inserted directly (1,000 API calls would dominate the test)."""
    seeded = seed(client, tenant, items=0, store_path=str(store_path), **config)
    with Session(engine) as session:
        rows = [
            ActionItem(
                workspace_id=tenant.workspace_id,
                goal_id=uuid.UUID(seeded.goal_id),
                title=f"Item {index}",
                owner_id=uuid.UUID(seeded.person_id),
                due_date=date.today() + timedelta(days=14),
                estimate_hours=2,
            )
            for index in range(items)
        ]
        session.add_all(rows)
        session.commit()
        seeded.item_ids = [str(row.id) for row in rows]
    return seeded


def _clean_pass(engine: Engine, settings: Settings) -> None:
    context = EngineContext(
        engine, settings, worker_id="clean-pass", clock=LaterClock(), retry_policy=NO_WAIT_POLICY
    )
    with Session(engine) as session:  # back-off waits are what time would skip
        for link in session.exec(select(ExternalLink)):
            link.next_attempt_at = None
            session.add(link)
        session.commit()
    SyncEngine(context).run_pass()
    context.close()


def _forked_worker(database_url: str) -> None:
    """A worker process forked from the test (no interpreter start-up: 20 kills stay quick)."""
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        sync_lease_seconds=5,
        embedded_worker=False,
        allow_private_trackers=True,
    )
    worker = Worker(make_engine(database_url, pool_size=2), settings, idle_seconds=0.2)
    worker.start()
    worker.join()


def test_worker_killed_at_random_moments_creates_every_item_exactly_once(
    client: TestClient,
    tenant: Tenant,
    engine: Engine,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    seeded = _seed_many(client, tenant, engine, tmp_path / "tracker.db", 200, latency_seconds=0.01)
    tracker = seeded.tracker
    tracker.inject_fault("lose_create_response", count=5)  # creates committed, answers lost
    randomness = random.Random(20)
    fork = multiprocessing.get_context("fork")
    for _ in range(20):
        process = fork.Process(target=_forked_worker, args=(database_url,), daemon=True)
        process.start()
        before = tracker.count("calls:create")
        deadline = time.monotonic() + 30
        while tracker.count("calls:create") == before and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(randomness.uniform(0.0, 0.15))
        assert process.is_alive(), "the worker died on its own"
        os.kill(process.pid or 0, signal.SIGKILL)
        process.join()
    assert tracker.object_count() < 200, "the kills should interrupt the push"
    _clean_pass(engine, settings)
    counts = tracker.marker_counts()
    assert sorted(counts) == sorted(seeded.item_ids)
    assert set(counts.values()) == {1}


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.timeout(900)
def test_four_worker_processes_share_the_work_on_postgres(
    client: TestClient,
    tenant: Tenant,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
) -> None:
    seeded = _seed_many(
        client, tenant, engine, tmp_path / "tracker.db", 1000, latency_seconds=0.002
    )
    workers = [_start_worker(database_url) for _ in range(4)]
    try:
        # A bound for a stuck run, not a speed check: under heavy load the four workers take long.
        deadline = time.monotonic() + 600
        while seeded.tracker.object_count() < 1000 and time.monotonic() < deadline:
            time.sleep(0.25)
        time.sleep(0.5)
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            assert process.wait(timeout=60) == 0
    counts = seeded.tracker.marker_counts()
    assert len(counts) == 1000 and set(counts.values()) == {1}
    with Session(engine) as session:
        links = session.exec(select(ExternalLink)).all()
        # The "sync" event of each create names the worker process that made it.
        events = session.exec(select(ItemEvent).where(ItemEvent.kind == "sync")).all()
    workers_seen = {event.data.get("worker") for event in events}
    assert len(links) == 1000
    assert len(workers_seen) == 4, workers_seen
