"""The embedded worker's writes take the same write turn as the requests' (SQLite has one writer):
storing last week's reviews at start-up under concurrent API writes never fails with "database
is locked"."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.main import create_app
from app.models import Goal
from app.models.execution import FrozenGoalReview
from app.schemas.weeks import IsoWeek
from app.settings import Settings
from tests.conftest import Tenant

GOALS = 12
ITEMS_PER_GOAL = 8
WRITERS = 3
# A bound, not a timing assertion: the worker stores the reviews within its first loop.
WAIT_FOR_REVIEWS_SECONDS = 60.0


def _seed_plan_that_ran_last_week(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    headers = tenant.headers
    today = date.today()
    person = client.post("/api/v1/people", json={"name": "Ada"}, headers=headers).json()
    plan = client.post(
        "/api/v1/plans",
        json={
            "name": "Running",
            "start_date": (today - timedelta(days=30)).isoformat(),
            "end_date": (today + timedelta(days=60)).isoformat(),
        },
        headers=headers,
    ).json()
    for goal_number in range(GOALS):
        goal = client.post(
            "/api/v1/goals",
            json={"plan_id": plan["id"], "title": f"Goal {goal_number}", "owner_id": person["id"]},
            headers=headers,
        ).json()
        for item_number in range(ITEMS_PER_GOAL):
            created = client.post(
                "/api/v1/items",
                json={
                    "goal_id": goal["id"],
                    "title": f"Item {goal_number}.{item_number}",
                    "owner_id": person["id"],
                    "estimate_hours": 3,
                    "due_date": (today + timedelta(days=item_number)).isoformat(),
                },
                headers=headers,
            )
            assert created.status_code == 201, created.text
    return {"plan": plan, "person": person, "goal": goal}


def _stored_goals(engine: Engine, week: IsoWeek) -> int:
    with Session(engine) as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(FrozenGoalReview)
                .where(FrozenGoalReview.iso_week == str(week))  # type: ignore[arg-type]
            ).scalar_one()
        )


def test_worker_stores_last_weeks_reviews_at_start_up_under_concurrent_writes(
    client: TestClient,
    tenant: Tenant,
    engine: Engine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seeded = _seed_plan_that_ran_last_week(client, tenant)
    last_week = IsoWeek.of(date.today()).shifted(-1)
    with Session(engine) as session:
        goals = session.execute(select(func.count()).select_from(Goal)).scalar_one()
    stop = threading.Event()
    answers: list[int] = []
    caplog.set_level(logging.WARNING)
    served_settings = settings.model_copy(update={"embedded_worker": True})
    with TestClient(create_app(served_settings, engine), raise_server_exceptions=False) as served:

        def write_until_stopped(writer: int) -> None:
            number = 0
            while not stop.is_set():
                number += 1
                response = served.post(
                    "/api/v1/items",
                    json={
                        "goal_id": seeded["goal"]["id"],
                        "title": f"Written by {writer} #{number}",
                        "owner_id": seeded["person"]["id"],
                        "estimate_hours": 1,
                        "due_date": date.today().isoformat(),
                    },
                    headers=tenant.headers,
                )
                answers.append(response.status_code)

        writers = [
            threading.Thread(target=write_until_stopped, args=(number,))
            for number in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        try:
            deadline = time.monotonic() + WAIT_FOR_REVIEWS_SECONDS
            while _stored_goals(engine, last_week) < goals and time.monotonic() < deadline:
                stop.wait(0.2)
        finally:
            stop.set()
            for writer in writers:
                writer.join()
    assert "database is locked" not in caplog.text
    assert "storing last week's reviews failed" not in caplog.text
    assert _stored_goals(engine, last_week) == goals
    assert answers and set(answers) == {201}
