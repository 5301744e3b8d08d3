"""What the end-to-end sync tests share: a plan seeded through the API, and reads of the outcome.

Each tracker's test (tests/sync/test_end_to_end_*.py) creates its connection through the API, lets
``seed_plan`` add one owner, a plan routed to the connection, a goal (optionally mirrored in the
tracker) and N action items, runs the engine, then acts as a person in the tracker's emulator.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ActionItem, ExternalLink, ItemEvent
from app.models.planning import EventSource, ItemStatus
from tests.conftest import Tenant
from tests.trackers.github.harness import TOKEN, GitHubHarness

DUE_IN_DAYS = 10


@dataclass
class SeededPlan:
    connection_id: str
    webhook_secret: str
    person_id: str
    goal_id: str
    due_date: date
    item_ids: list[str] = field(default_factory=list)


def create_connection(client: TestClient, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/connections", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def create_github_connection(
    client: TestClient, tenant: Tenant, github: GitHubHarness, **config: str
) -> dict[str, Any]:
    """A connection to the emulator's repository, with its token and webhook secret."""
    body: dict[str, Any] = {
        "kind": "github",
        "name": "GitHub",
        "base_url": github.base_url,
        "scope": github.scope,
        "credentials": {"token": TOKEN},
        "webhook_secret": github.emulator.webhook_secret,
    }
    if config:
        body["config"] = config
    return create_connection(client, tenant, body)


def seed_plan(
    client: TestClient,
    tenant: Tenant,
    connection: dict[str, Any],
    identities: dict[str, str],
    items: int,
    mirror_goal: bool = False,
) -> SeededPlan:
    """An owner with ``identities``, a plan routed to ``connection``, a goal, ``items`` items."""
    headers = tenant.headers
    person = client.post(
        "/api/v1/people", json={"name": "Owner", "identities": identities}, headers=headers
    )
    assert person.status_code == 201, person.text
    today = date.today()
    plan = client.post(
        "/api/v1/plans",
        json={
            "name": "Q1",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=90)).isoformat(),
            "default_connection_id": connection["id"],
        },
        headers=headers,
    )
    assert plan.status_code == 201, plan.text
    goal_body: dict[str, Any] = {
        "plan_id": plan.json()["id"],
        "title": "Launch",
        "owner_id": person.json()["id"],
    }
    if mirror_goal:
        goal_body["connection_id"] = connection["id"]
    goal = client.post("/api/v1/goals", json=goal_body, headers=headers)
    assert goal.status_code == 201, goal.text
    seeded = SeededPlan(
        connection_id=connection["id"],
        webhook_secret=connection["webhook_secret"],
        person_id=person.json()["id"],
        goal_id=goal.json()["id"],
        due_date=today + timedelta(days=DUE_IN_DAYS),
    )
    for index in range(items):
        response = client.post(
            "/api/v1/items",
            json={
                "goal_id": seeded.goal_id,
                "title": f"Task {index}",
                "owner_id": seeded.person_id,
                "due_date": seeded.due_date.isoformat(),
                "estimate_hours": 3,
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        seeded.item_ids.append(response.json()["id"])
    return seeded


def item_status(engine: Engine, item_id: str) -> ItemStatus:
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(item_id))
        assert item is not None
        return item.status


def tracker_status_events(engine: Engine) -> list[tuple[str, str | None]]:
    """(item id, new status) of every status change the tracker reported."""
    with Session(engine) as session:
        events = session.exec(
            select(ItemEvent).where(
                ItemEvent.kind == "status", ItemEvent.source == EventSource.tracker
            )
        ).all()
    return [(str(event.item_id), event.to_value) for event in events]


def links_by_item(engine: Engine, connection_id: str) -> dict[str, ExternalLink]:
    """The item links of a connection, by item id (goal mirrors left out)."""
    with Session(engine) as session:
        links = session.exec(
            select(ExternalLink).where(ExternalLink.connection_id == uuid.UUID(connection_id))
        ).all()
    return {str(link.item_id): link for link in links if link.item_id is not None}


def goal_link(engine: Engine, connection_id: str, goal_id: str) -> ExternalLink:
    with Session(engine) as session:
        link = session.exec(
            select(ExternalLink).where(
                ExternalLink.connection_id == uuid.UUID(connection_id),
                ExternalLink.goal_id == uuid.UUID(goal_id),
            )
        ).first()
    assert link is not None and link.external_id, "the goal mirror was not created"
    return link
