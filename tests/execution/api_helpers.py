"""Seeding through the core API, as a client would."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.db import utcnow


def post(
    client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(f"/api/v1{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def seed_plan(client: TestClient, headers: dict[str, str], hours: float = 10.0) -> dict[str, Any]:
    """A person, a plan around today, a goal and one open item, created through the API."""
    today = utcnow().date()
    person = post(client, headers, "/people", {"name": "Ada", "weekly_strategic_hours": hours})
    plan = post(
        client,
        headers,
        "/plans",
        {
            "name": "Now",
            "start_date": str(today - timedelta(days=30)),
            "end_date": str(today + timedelta(days=60)),
        },
    )
    goal = post(
        client,
        headers,
        "/goals",
        {"plan_id": plan["id"], "title": "Ship", "owner_id": person["id"]},
    )
    item = post(
        client,
        headers,
        "/items",
        {
            "goal_id": goal["id"],
            "title": "Draft",
            "owner_id": person["id"],
            "due_date": str(today + timedelta(days=14)),
            "estimate_hours": 4,
        },
    )
    return {"person": person, "plan": plan, "goal": goal, "item": item, "today": today}


def iso_week(day: date) -> str:
    calendar = day.isocalendar()
    return f"{calendar.year}-W{calendar.week:02d}"
