"""Roll-up benchmark: progress, health, weekly review and capacity on a large plan.

Seeds one plan with 200 goals, 100,000 action items and 1,000,000 item events
(bench/rollups_seed.py: executemany on SQLite, COPY on PostgreSQL), then times the service
functions the API and the dashboard call, with "now" fixed in the plan's middle.

    python -m bench.rollups --backend sqlite
    python -m bench.rollups --backend postgres   # PLANBRIDGE_BENCH_POSTGRES_URL or the local server
    python -m bench.rollups --backend sqlite --keep  # keep the database, print its URL
    python -m bench.rollups --backend sqlite --seed-only  # seed and keep, for profiling
    python -m bench.rollups --database-url URL       # measure a kept database again, no seeding
    python -m bench.rollups --database-url URL --only "plan progress" --only "plan health"

Aims: plan progress and plan health p95 < 100 ms; a weekly review < 1 s; capacity of a plan < 500
ms. A finished week's review is measured twice: computed from history ("cold", nothing stored)
and read back once stored ("stored", what every later request gets). "last" is the week before
now's (3.5 days of changes since it ended), "past" six weeks back (most items touched since).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col

import app.models  # noqa: F401  (every table on the metadata)
from app.db import make_engine
from app.garbage_collector import tuned_garbage_collector
from app.models import FrozenGoalReview, FrozenPlannedWeek, Plan
from app.schemas.weeks import IsoWeek
from app.services.capacity import plan_capacity
from app.services.health import plan_health
from app.services.progress import plan_progress
from app.services.reviews import weekly_review
from app.settings import Settings
from bench.rollups_seed import NOW, seed


def timed(function: Callable[[], object], runs: int) -> list[float]:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        durations.append((time.perf_counter() - started) * 1000.0)
    return durations


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(
    engine: Engine, plan_id: uuid.UUID, settings: Settings, runs: int, only: list[str] | None = None
) -> None:
    with Session(engine) as session:
        workspace_id = session.get(Plan, plan_id).workspace_id  # type: ignore[union-attr]
        # "Cold": nothing stored yet (a kept database may hold the parts of an earlier run), and
        # those runs do not store; the "stored" case stores on its warm-up call.
        for table in (FrozenGoalReview, FrozenPlannedWeek):
            session.execute(delete(table))
        session.commit()
        current = IsoWeek.of(NOW.date())
        last, past = current.shifted(-1), current.shifted(-6)
        cases: list[tuple[str, Callable[[], object], int, str]] = [
            (
                "plan progress",
                lambda: plan_progress(session, workspace_id, plan_id, now=NOW),
                runs,
                "p95 < 100 ms",
            ),
            (
                "plan health",
                lambda: plan_health(session, workspace_id, plan_id, settings, now=NOW),
                runs,
                "p95 < 100 ms",
            ),
            (
                f"weekly review {current} (running)",
                lambda: weekly_review(session, workspace_id, plan_id, current, settings, now=NOW),
                max(3, runs // 4),
                "< 1000 ms",
            ),
            (
                f"weekly review {last} (last, cold)",
                lambda: weekly_review(session, workspace_id, plan_id, last, settings, now=NOW),
                max(3, runs // 4),
                "< 1000 ms",
            ),
            (
                f"weekly review {past} (past, cold)",
                lambda: weekly_review(session, workspace_id, plan_id, past, settings, now=NOW),
                max(3, runs // 4),
                "< 1000 ms",
            ),
            (
                f"weekly review {past} (past, stored)",
                lambda: weekly_review(
                    session, workspace_id, plan_id, past, settings, now=NOW, store=True
                ),
                runs,
                "< 1000 ms",
            ),
            (
                "plan capacity",
                lambda: plan_capacity(session, workspace_id, plan_id),
                max(3, runs // 4),
                "< 500 ms",
            ),
        ]
        # As the server and the worker do once started (app/garbage_collector.py).
        with tuned_garbage_collector():
            for name, function, count, aim in cases:
                if only and not any(name.startswith(prefix) for prefix in only):
                    continue
                function()  # warm the caches once, as a running server would be
                session.commit()  # what the route does after a review (stores its parts)
                durations = timed(function, count)
                print(
                    f"{name:38s} runs={count:3d} median={statistics.median(durations):8.1f} ms  "
                    f"p95={p95(durations):8.1f} ms  max={max(durations):8.1f} ms  aim {aim}"
                )


def postgres_database() -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database for the run, and a function that drops it."""
    admin = os.environ.get(
        "PLANBRIDGE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    name = f"pb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--goals", type=int, default=200)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--database-url", help="measure this already seeded database")
    parser.add_argument("--seed-only", action="store_true", help="seed and keep, measure nothing")
    parser.add_argument(
        "--only",
        action="append",
        help='measure only the cases whose name starts with this ("plan progress"); repeatable',
    )
    arguments = parser.parse_args()
    settings = Settings(database_url="sqlite://", secret_key="bench-secret-key-0123456789")  # type: ignore[arg-type]
    if arguments.database_url:
        engine = make_engine(arguments.database_url)
        with Session(engine) as session:
            plan_id = session.scalars(
                select(col(Plan.id)).where(col(Plan.name) == "Bench plan")
            ).one()
        measure(engine, plan_id, settings, arguments.runs, arguments.only)
        engine.dispose()
        return
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    folder = tempfile.mkdtemp(prefix="planbridge-bench-")
    if arguments.backend == "sqlite":
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
    else:
        url, cleanup = postgres_database()
    try:
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        started = time.perf_counter()
        plan_id = seed(engine, arguments.goals, arguments.items, arguments.events)
        print(
            f"{arguments.backend}: seeded {arguments.goals} goals, {arguments.items} items, "
            f"{arguments.events} events in {time.perf_counter() - started:.0f} s"
        )
        if not arguments.seed_only:
            measure(engine, plan_id, settings, arguments.runs, arguments.only)
        engine.dispose()
    finally:
        if arguments.keep or arguments.seed_only:
            print(f"kept: --database-url {url}")
        else:
            cleanup()
            for leftover in Path(folder).iterdir():
                leftover.unlink()
            Path(folder).rmdir()


if __name__ == "__main__":
    main()
