"""Dashboard benchmark: full page renders (queries, services, templates) on a large plan.

Seeds one plan with the roll-up benchmark's generator (defaults: 40 goals, 4,000 items, 40,000
events, 50 people), signs in like a browser (session cookie), then requests each page in-process
through the ASGI app and prints the median and p95 per page.

    python -m bench.dashboard --backend sqlite
    python -m bench.dashboard --backend postgres   # PLANBRIDGE_BENCH_POSTGRES_URL or local server

The generator dates its history in 2027, after today's date: every item then counts as changed in
the last seven days, the most expensive case for the "change this week" figures. The weekly review
page reviews the generator's "now" week as of that instant (a week that has not begun by the wall
clock has no review): the review service's clock is set to it.

Aim: every page p95 under 500 ms at this size on the 2-core container.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, col, select

from app.dashboard.auth import SESSION_COOKIE, open_session
from app.db import make_engine
from app.main import create_app
from app.models import Goal, Plan, Scope
from app.services.tokens import issue_token
from app.services.weekly_review import assembly
from app.settings import Settings
from bench.rollups import NOW, p95, postgres_database, seed, timed

AIM_MS = 500.0


def signed_in_client(settings: Settings, url: str, plan_id: uuid.UUID) -> TestClient:
    engine = make_engine(url)
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None
        issued = issue_token(session, plan.workspace_id, Scope.read, name="bench")
        opened = open_session(session, issued.token)
        assert opened is not None
        session.commit()
    client = TestClient(create_app(settings, engine))
    client.cookies.set(SESSION_COOKIE, opened[0])
    return client


def measure(client: TestClient, plan_id: uuid.UUID, goal_id: uuid.UUID, runs: int) -> None:
    assembly.utcnow = lambda: NOW  # the review of NOW's week, as of NOW (module docstring)
    week = NOW.date().isocalendar()
    pages = {
        "plans (/)": "/",
        "plan": f"/plans/{plan_id}",
        "goal (burn-up, items)": f"/goals/{goal_id}",
        "people (heat map, commitments)": "/people",
        "attention": f"/attention?plan={plan_id}",
        "weekly review": f"/reviews?plan={plan_id}&week={week.year}-W{week.week:02d}",
        "connections": "/connections",
    }
    for name, path in pages.items():

        def request(path: str = path) -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        request()  # warm caches once, as a running server would be
        durations = timed(request, runs)
        print(
            f"{name:32s} runs={runs:3d} median={statistics.median(durations):8.1f} ms  "
            f"p95={p95(durations):8.1f} ms  aim p95 < {AIM_MS:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--goals", type=int, default=40)
    parser.add_argument("--items", type=int, default=4_000)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=20)
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
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
            with Session(engine) as session:
                goal_id = session.exec(
                    select(Goal.id).where(Goal.plan_id == plan_id).order_by(col(Goal.id))
                ).first()
            assert goal_id is not None
            print(
                f"{arguments.backend}: seeded {arguments.goals} goals, {arguments.items} items, "
                f"{arguments.events} events in {time.perf_counter() - started:.0f} s"
            )
            settings = Settings(
                database_url=url,
                secret_key="bench-secret-key-0123456789",  # type: ignore[arg-type]
                embedded_worker=False,
            )
            with signed_in_client(settings, url, plan_id) as client:
                measure(client, plan_id, goal_id, arguments.runs)
            engine.dispose()
        finally:
            cleanup()


if __name__ == "__main__":
    main()
