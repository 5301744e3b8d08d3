"""Seed a plan through the REST API, as a user would, and read figures back from the API."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import Connection, ExternalLink, ItemEvent


class HttpClient(Protocol):
    def post(self, url: str, **kwargs: Any) -> Any: ...
    def get(self, url: str, **kwargs: Any) -> Any: ...
    def patch(self, url: str, **kwargs: Any) -> Any: ...


@dataclass
class SeededPlan:
    plan_id: str
    goal_ids: list[str]
    item_ids: list[str]
    person_ids: list[str]
    dead_link_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def seed_plan(http: HttpClient, headers: dict[str, str], name: str = "2027 Q1") -> SeededPlan:
    """Two people, a plan, two goals and five items, some done, one blocked, one overdue."""
    today = utcnow().date()
    ada = _created(
        http.post(
            "/api/v1/people",
            json={"name": "Ada Lovelace", "weekly_strategic_hours": 10},
            headers=headers,
        )
    )
    grace = _created(
        http.post(
            "/api/v1/people",
            json={"name": "Grace Hopper", "weekly_strategic_hours": 4},
            headers=headers,
        )
    )
    plan = _created(
        http.post(
            "/api/v1/plans",
            json={
                "name": name,
                "start_date": (today - timedelta(days=30)).isoformat(),
                "end_date": (today + timedelta(days=60)).isoformat(),
            },
            headers=headers,
        )
    )
    goal_a = _created(
        http.post(
            "/api/v1/goals",
            json={
                "plan_id": plan["id"],
                "title": "Launch the partner portal",
                "owner_id": ada["id"],
                "target_date": (today + timedelta(days=40)).isoformat(),
            },
            headers=headers,
        )
    )
    goal_b = _created(
        http.post(
            "/api/v1/goals",
            json={
                "plan_id": plan["id"],
                "title": "Halve onboarding time",
                "owner_id": grace["id"],
                "target_date": (today + timedelta(days=20)).isoformat(),
            },
            headers=headers,
        )
    )

    def item(
        goal: dict[str, Any], title: str, owner: dict[str, Any], due: date, hours: float
    ) -> dict[str, Any]:
        return _created(
            http.post(
                "/api/v1/items",
                json={
                    "goal_id": goal["id"],
                    "title": title,
                    "owner_id": owner["id"],
                    "due_date": due.isoformat(),
                    "estimate_hours": hours,
                },
                headers=headers,
            )
        )

    items = [
        item(goal_a, "Write the API spec", ada, today + timedelta(days=5), 8),
        item(goal_a, "Build the sign-up page", ada, today + timedelta(days=12), 12),
        item(goal_a, "Security review", grace, today + timedelta(days=25), 6),
        item(goal_b, "Map the onboarding steps", grace, today + timedelta(days=3), 4),
        item(goal_b, "Automate account setup", ada, today + timedelta(days=15), 10),
    ]
    for index, status in ((0, "done"), (3, "done"), (2, "blocked")):
        response = http.patch(
            f"/api/v1/items/{items[index]['id']}", json={"status": status}, headers=headers
        )
        assert response.status_code == 200, response.text
    return SeededPlan(
        plan_id=plan["id"],
        goal_ids=[goal_a["id"], goal_b["id"]],
        item_ids=[entry["id"] for entry in items],
        person_ids=[ada["id"], grace["id"]],
    )


def add_focus_and_check_in(http: HttpClient, headers: dict[str, str], seeded: SeededPlan) -> None:
    """A focus block for Ada and this week's check-in from Grace, who needs help."""
    ada, grace = seeded.person_ids
    block = http.post(
        f"/api/v1/people/{ada}/focus-blocks",
        json={"weekday": 1, "start": "09:00", "end": "11:30", "timezone": "Europe/Berlin"},
        headers=headers,
    )
    assert block.status_code == 201, block.text
    week = utcnow().date().isocalendar()
    check_in = http.post(
        "/api/v1/checkins",
        json={
            "owner_id": grace,
            "goal_id": seeded.goal_ids[1],
            "iso_week": f"{week.year}-W{week.week:02d}",
            "confidence": "at_risk",
            "note": "Vendor contract still unsigned.",
            "blockers": "Legal review of the vendor contract",
            "needs_help": True,
        },
        headers=headers,
    )
    assert check_in.status_code == 201, check_in.text


def backdate_history(engine: Engine, workspace_id: uuid.UUID, days: int = 21) -> None:
    """Spread the seeded history over the past weeks, so the burn-up has a shape to draw.

    Events keep their order; each is moved back by a share of ``days`` that shrinks with its rank.
    """
    with Session(engine) as session:
        events = session.exec(
            select(ItemEvent)
            .where(ItemEvent.workspace_id == workspace_id)
            .order_by(col(ItemEvent.at), col(ItemEvent.id))
        ).all()
        for rank, event in enumerate(events):
            event.at = event.at - timedelta(days=days * (len(events) - rank) / len(events))
            session.add(event)
        session.commit()


def add_dead_link(engine: Engine, workspace_id: uuid.UUID, item_id: str) -> uuid.UUID:
    """A connection and a link the engine gave up on (the sync engine's own state, set directly)."""
    with Session(engine) as session:
        connection = Connection(
            workspace_id=workspace_id,
            name="Team GitHub",
            kind="github",
            base_url="https://api.github.com",
            last_error="HTTP 422 from tracker: Validation Failed",
            consecutive_failures=3,
            rate_limit_remaining=4321,
            rate_limit_limit=5000,
        )
        session.add(connection)
        session.flush()
        link = ExternalLink(
            workspace_id=workspace_id,
            connection_id=connection.id,
            item_id=uuid.UUID(item_id),
            last_error="HTTP 422: Validation Failed (labels)",
            attempts=8,
            dead=True,
        )
        session.add(link)
        session.commit()
        return link.id


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)
