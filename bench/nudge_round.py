"""Nudge round benchmark: what the worker's minute-by-minute nudge check costs.

Seeds one running plan with ``--items`` open items of ``--people`` owners (10 % overdue, 5 %
blocked for a week, the rest on time and active), e-mail set up (messages are queued, nothing is
sent), then at a Monday 09:00 UTC runs ``run_nudge_round`` (app/services/nudge_round.py):

- the first rounds, until every nudge decided is queued or held by the weekly cap (each round
  releases at most RELEASE_BATCH);
- then ``--quiet-runs`` quiet rounds, where nothing is new: the steady cost of the check.

    python -m bench.nudge_round --backend sqlite
    python -m bench.nudge_round --backend postgres  # PLANBRIDGE_BENCH_POSTGRES_URL or local

Prints wall time and CPU seconds of this process (PostgreSQL's own work is not in them).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import func, insert
from sqlmodel import Session, SQLModel, select

import app.models  # noqa: F401  (every table on the metadata)
from app.db import make_engine
from app.models import ActionItem, Goal, ItemStatus, MessageDelivery, Nudge, Person, Plan, Workspace
from app.services.nudge_round import run_nudge_round
from app.settings import Settings
from bench.rollups import postgres_database

MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def seed(engine: object, people: int, items: int) -> None:
    with Session(engine) as session:  # type: ignore[arg-type]
        workspace = Workspace(name="bench")
        session.add(workspace)
        session.flush()
        owners = [
            Person(workspace_id=workspace.id, name=f"Person {n}", email=f"p{n}@example.com")
            for n in range(people)
        ]
        session.add_all(owners)
        plan = Plan(
            workspace_id=workspace.id,
            name="2027 Q1",
            start_date=date(2027, 1, 4),
            end_date=date(2027, 3, 28),
            owner_id=None,
        )
        session.add(plan)
        session.flush()
        goals = [
            Goal(workspace_id=workspace.id, plan_id=plan.id, title=f"Goal {n}", owner_id=o.id)
            for n, o in enumerate(owners[: max(1, people // 10)])
        ]
        session.add_all(goals)
        session.flush()
        rows = []
        for n in range(items):
            # Each person: 2 overdue items and 1 blocked for a week, in every 20 of theirs.
            batch = n // people
            overdue, blocked = batch % 10 == 0, batch % 20 == 1
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "workspace_id": workspace.id,
                    "goal_id": goals[n % len(goals)].id,
                    "title": f"Item {n}",
                    "description": "",
                    "owner_id": owners[n % people].id,
                    "due_date": date(2027, 2, 26) if overdue else date(2027, 3, 20),
                    "estimate_hours": 4.0,
                    "status": ItemStatus.blocked if blocked else ItemStatus.in_progress,
                    "revision": 1,
                    "created_at": MONDAY - timedelta(days=8 if blocked else 1),
                    "updated_at": MONDAY - timedelta(days=8 if blocked else 1),
                    "last_activity_at": MONDAY - timedelta(days=1),
                }
            )
        session.execute(insert(ActionItem), rows)
        session.commit()


def timed(call: object) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()  # type: ignore[operator]
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--quiet-runs", type=int, default=10)
    args = parser.parse_args()
    drop = None
    with tempfile.TemporaryDirectory() as directory:
        if args.backend == "sqlite":
            url = f"sqlite:///{Path(directory) / 'bench.db'}"
        else:
            url, drop = postgres_database()
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        settings = Settings(
            database_url=url,
            secret_key=SecretStr("bench-secret-key-0123456789abcdef"),
            smtp_url=SecretStr("smtp://bench:bench@127.0.0.1:2525"),
            mail_from="planbridge@example.com",
        )
        try:
            seed(engine, args.people, args.items)
            first_wall = first_cpu = 0.0
            rounds = 0
            while True:
                with Session(engine) as session:
                    before = session.exec(select(func.count()).select_from(MessageDelivery)).one()
                wall, cpu = timed(lambda: run_nudge_round(engine, settings, MONDAY))
                with Session(engine) as session:
                    after = session.exec(select(func.count()).select_from(MessageDelivery)).one()
                first_wall, first_cpu, rounds = first_wall + wall, first_cpu + cpu, rounds + 1
                if after == before and rounds > 1:
                    break
            with Session(engine) as session:
                nudges = session.exec(select(func.count()).select_from(Nudge)).one()
                queued = session.exec(select(func.count()).select_from(MessageDelivery)).one()
            print(
                f"{args.backend}: {args.items} open items, {args.people} people; "
                f"{nudges} nudges decided, {queued} messages queued in {rounds} rounds: "
                f"{first_wall:.2f} s wall, {first_cpu:.2f} s CPU"
            )
            quiet = [
                timed(lambda at=at: run_nudge_round(engine, settings, at))  # type: ignore[misc]
                for at in (MONDAY + timedelta(minutes=n) for n in range(1, args.quiet_runs + 1))
            ]
            walls, cpus = [q[0] for q in quiet], [q[1] for q in quiet]
            print(
                f"quiet round (nothing new), median of {args.quiet_runs}: "
                f"{statistics.median(walls) * 1000:.0f} ms wall, "
                f"{statistics.median(cpus) * 1000:.0f} ms CPU"
            )
        finally:
            engine.dispose()
            if drop is not None:
                drop()


if __name__ == "__main__":
    main()
