"""Fixtures for the sync engine: memory-tracker connections, a seeded plan, an engine context; the
tracker emulators (a fresh one per test) and the app served on loopback for their webhooks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.settings import Settings
from connectors.memory_store import MemoryTracker
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.retry import NO_WAIT_POLICY
from tests.conftest import Tenant
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.jira.harness import JiraCloudHarness
from tests.trackers.server import LoopbackServer
from tests.trackers.trello.harness import TrelloHarness


@dataclass
class Seeded:
    connection_id: str
    webhook_secret: str
    tracker: MemoryTracker
    person_id: str
    plan_id: str
    goal_id: str
    item_ids: list[str] = field(default_factory=list)


def create_memory_connection(
    client: TestClient, tenant: Tenant, store: str | None = None, **config: Any
) -> dict[str, Any]:
    body = {
        "kind": "memory",
        "name": f"memory {store}",
        "base_url": f"memory://{store or uuid.uuid4().hex}",
        "scope": "TEAM",
        "credentials": {"token": config.pop("token", "good")},
        "config": config,
    }
    response = client.post("/api/v1/connections", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def seed(
    client: TestClient, tenant: Tenant, items: int = 3, mirror_goal: bool = False, **config: Any
) -> Seeded:
    """A memory connection, one person, a plan routing to it, a goal and ``items`` action items."""
    store = uuid.uuid4().hex
    connection = create_memory_connection(client, tenant, store, **config)
    headers = tenant.headers
    person = client.post(
        "/api/v1/people",
        json={"name": "Alice", "identities": {"memory": "alice"}},
        headers=headers,
    ).json()
    today = date.today()
    plan = client.post(
        "/api/v1/plans",
        json={
            "name": "2027 Q1",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=90)).isoformat(),
            "default_connection_id": connection["id"],
        },
        headers=headers,
    ).json()
    goal_body: dict[str, Any] = {
        "plan_id": plan["id"],
        "title": "Ship it",
        "owner_id": person["id"],
    }
    if mirror_goal:
        goal_body["connection_id"] = connection["id"]
    goal = client.post("/api/v1/goals", json=goal_body, headers=headers).json()
    seeded = Seeded(
        connection_id=connection["id"],
        webhook_secret=connection["webhook_secret"],
        tracker=MemoryTracker(store, config.get("store_path")),
        person_id=person["id"],
        plan_id=plan["id"],
        goal_id=goal["id"],
    )
    for index in range(items):
        seeded.item_ids.append(add_item(client, tenant, seeded, f"Item {index}"))
    return seeded


def add_item(client: TestClient, tenant: Tenant, seeded: Seeded, title: str) -> str:
    response = client.post(
        "/api/v1/items",
        json={
            "goal_id": seeded.goal_id,
            "title": title,
            "owner_id": seeded.person_id,
            "due_date": (date.today() + timedelta(days=14)).isoformat(),
            "estimate_hours": 4,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    item_id: str = response.json()["id"]
    return item_id


@pytest.fixture
def context(engine: Engine, settings: Settings) -> EngineContext:
    built = EngineContext(engine, settings, worker_id="test-worker", retry_policy=NO_WAIT_POLICY)
    yield built  # type: ignore[misc]
    built.close()


@pytest.fixture
def sync_engine(context: EngineContext) -> SyncEngine:
    return SyncEngine(context)


def run_until_idle(sync_engine: SyncEngine, limit: int = 50) -> int:
    """Run steps until one does nothing; returns how many steps did work."""
    for steps in range(limit):
        if not sync_engine.step().did_work:
            return steps
    raise AssertionError(f"engine still busy after {limit} steps")


@pytest.fixture
def github() -> Iterator[GitHubHarness]:
    harness = GitHubHarness()
    yield harness
    harness.close()


@pytest.fixture
def trello() -> Iterator[TrelloHarness]:
    harness = TrelloHarness()
    yield harness
    harness.close()


@pytest.fixture
def jira() -> Iterator[JiraCloudHarness]:
    harness = JiraCloudHarness()
    yield harness
    harness.close()


@pytest.fixture
def served_app(app: FastAPI) -> Iterator[str]:
    with LoopbackServer(app) as server:
        yield server.url
