"""Roll-up benchmark: progress, health, weekly review and capacity on a large plan.

Seeds one plan with 200 goals, 100,000 action items and 1,000,000 item events (bulk inserts), then
times the service functions the API and the dashboard call, with "now" fixed in the plan's middle.

    python -m bench.rollups --backend sqlite
    python -m bench.rollups --backend postgres   # needs PLANBRIDGE_BENCH_POSTGRES_URL or the
    local server

Aims: plan progress and plan health p95 < 100 ms; a weekly review < 1 s; capacity of a plan < 500
ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401  (every table on the metadata)
from app.db import make_engine
from app.models import ActionItem, Goal, ItemEvent, Person, Plan, Workspace
from app.schemas.weeks import IsoWeek
from app.services.capacity import plan_capacity
from app.services.health import plan_health
from app.services.progress import plan_progress
from app.services.reviews import weekly_review
from app.settings import Settings

PLAN_START, PLAN_END = date(2027, 1, 4), date(2027, 6, 27)
NOW = datetime(2027, 4, 15, 12, 0, tzinfo=UTC)
FINAL_STATUS = [("done", 45), ("in_progress", 20), ("todo", 20), ("blocked", 8), ("dropped", 7)]
CHUNK_ITEMS = 5_000


def seed(engine: Engine, goals: int, items: int, events: int, people: int = 50) -> uuid.UUID:
    """Bulk-insert the data set; returns the plan id."""
    rng = random.Random(7)
    workspace_id, plan_id = uuid.uuid4(), uuid.uuid4()
    person_ids = [uuid.uuid4() for _ in range(people)]
    goal_ids = [uuid.uuid4() for _ in range(goals)]
    created = datetime(2027, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Workspace),
            [{"id": workspace_id, "name": f"bench-{workspace_id.hex[:6]}", "created_at": created}],
        )
        connection.execute(
            insert(Person),
            [
                {
                    "id": pid,
                    "workspace_id": workspace_id,
                    "name": f"Person {n}",
                    "weekly_strategic_hours": float(rng.choice([8, 12, 16, 20])),
                    "identities": {},
                    "created_at": created,
                    "updated_at": created,
                }
                for n, pid in enumerate(person_ids)
            ],
        )
        connection.execute(
            insert(Plan),
            [
                {
                    "id": plan_id,
                    "workspace_id": workspace_id,
                    "name": "Bench plan",
                    "start_date": PLAN_START,
                    "end_date": PLAN_END,
                    "post_reviews_to_trackers": False,
                    "created_at": created,
                    "updated_at": created,
                }
            ],
        )
        connection.execute(
            insert(Goal),
            [
                {
                    "id": gid,
                    "workspace_id": workspace_id,
                    "plan_id": plan_id,
                    "title": f"Goal {n}",
                    "description": "",
                    "owner_id": person_ids[n % people],
                    "target_date": PLAN_END - timedelta(days=rng.randrange(0, 60)),
                    "revision": 1,
                    "created_at": created + timedelta(seconds=n),
                    "updated_at": created,
                }
                for n, gid in enumerate(goal_ids)
            ],
        )
    events_per_item = max(1, events // items)
    statuses, weights = zip(*FINAL_STATUS, strict=True)
    span = (
        NOW - timedelta(days=10) - datetime.combine(PLAN_START, datetime.min.time(), tzinfo=UTC)
    ).total_seconds()
    item_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for n in range(items):
        item_id, goal_index = uuid.uuid4(), n % goals
        created_at = datetime.combine(PLAN_START, datetime.min.time(), tzinfo=UTC) + timedelta(
            seconds=rng.random() * span
        )
        # Work on an item happens within its few weeks of life, not spread evenly up to now.
        lifetime = min((NOW - created_at).total_seconds(), rng.uniform(3, 35) * 86_400)
        times = sorted(
            created_at + timedelta(seconds=rng.random() * lifetime)
            for _ in range(events_per_item - 1)
        )
        estimate = float(rng.choice([1, 2, 3, 4, 6, 8]))
        due = created_at.date() + timedelta(days=rng.randrange(3, 40))
        # Most work due weeks ago is finished; open work is mostly recent (as in a plan that runs).
        if due < NOW.date() - timedelta(days=14):
            final = rng.choices(statuses, [85, 2, 3, 3, 7])[0]
        else:
            final = rng.choices(statuses, weights)[0]
        owner = person_ids[(goal_index + rng.randrange(3)) % people]
        status = "todo"
        history = [("created", created_at, status)]
        for index, moment in enumerate(times):
            status = (
                final
                if index == len(times) - 1
                else rng.choice(["todo", "in_progress", "in_progress", "blocked"])
            )
            history.append(("status", moment, status))
        for kind, moment, snapshot in history:
            event_rows.append(
                {
                    "id": uuid.uuid4(),
                    "workspace_id": workspace_id,
                    "item_id": item_id,
                    "goal_id": goal_ids[goal_index],
                    "kind": kind,
                    "source": "api",
                    "field": "status" if kind == "status" else None,
                    "to_value": snapshot,
                    "estimate_hours": estimate,
                    "status": snapshot,
                    "data": {},
                    "at": moment,
                }
            )
        last = history[-1][1]
        item_rows.append(
            {
                "id": item_id,
                "workspace_id": workspace_id,
                "goal_id": goal_ids[goal_index],
                "title": f"Item {n}",
                "description": "",
                "owner_id": owner,
                "due_date": due,
                "start_date": None,
                "estimate_hours": estimate,
                "status": final,
                "revision": 1,
                "created_at": created_at,
                "updated_at": last,
                "last_activity_at": last,
                "done_at": last if final == "done" else None,
            }
        )
        if len(item_rows) >= CHUNK_ITEMS:
            _flush(engine, item_rows, event_rows)
    _flush(engine, item_rows, event_rows)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return plan_id


def _flush(
    engine: Engine, item_rows: list[dict[str, Any]], event_rows: list[dict[str, Any]]
) -> None:
    if not item_rows:
        return
    with engine.begin() as connection:
        connection.execute(insert(ActionItem), item_rows)
        connection.execute(insert(ItemEvent), event_rows)
    item_rows.clear()
    event_rows.clear()


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


def measure(engine: Engine, plan_id: uuid.UUID, settings: Settings, runs: int) -> None:
    with Session(engine) as session:
        workspace_id = session.get(Plan, plan_id).workspace_id  # type: ignore[union-attr]
        current, past = IsoWeek.of(NOW.date()), IsoWeek.of(NOW.date()).shifted(-6)
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
                f"weekly review {past} (past)",
                lambda: weekly_review(session, workspace_id, plan_id, past, settings, now=NOW),
                max(3, runs // 4),
                "< 1000 ms",
            ),
            (
                "plan capacity",
                lambda: plan_capacity(session, workspace_id, plan_id),
                max(3, runs // 4),
                "< 500 ms",
            ),
        ]
        for name, function, count, aim in cases:
            function()  # warm the caches once, as a running server would be
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--goals", type=int, default=200)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    arguments = parser.parse_args()
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    with tempfile.TemporaryDirectory() as folder:
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
            settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789")  # type: ignore[arg-type]
            measure(engine, plan_id, settings, arguments.runs)
            engine.dispose()
        finally:
            cleanup()


if __name__ == "__main__":
    main()
