"""goal.health_changed is published by the worker's step, once per change: a write only notes the
goal (in its own transaction, gone with a rollback), and two workers comparing the same goal at
the same time enqueue one event."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import ActionItem, EventKind, ItemStatus
from app.models.execution import GoalHealthState, NotificationDelivery
from app.models.health_checks import GoalHealthCheck
from app.services.health_changes import publish_health_changes
from app.services.item_history import record_item_event
from app.settings import Settings
from sync.goal_health import publish_goal_health
from tests.conftest import Tenant
from tests.execution.api_helpers import post, seed_plan


def _subscribed_plan(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    seeded = seed_plan(client, tenant.headers)
    post(
        client,
        tenant.headers,
        "/subscriptions",
        {"url": "https://example.com/hook", "event_types": ["goal.health_changed"]},
    )
    return seeded


def _block(client: TestClient, tenant: Tenant, item_id: str) -> None:
    response = client.patch(
        f"/api/v1/items/{item_id}", json={"status": "blocked"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


def _count(engine: Engine, model: Any, *conditions: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _health_events(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.exec(
            select(NotificationDelivery).where(
                col(NotificationDelivery.event_type) == "goal.health_changed"
            )
        ).all()
        return [row.payload for row in rows]


def test_a_status_change_is_published_by_the_worker_step_once(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings
) -> None:
    seeded = _subscribed_plan(client, tenant)
    _block(client, tenant, seeded["item"]["id"])
    # The write noted the goal and published nothing itself.
    assert _count(engine, GoalHealthCheck) == 1
    assert _health_events(engine) == []
    assert publish_goal_health(engine, settings, utcnow()) == 1
    assert publish_goal_health(engine, settings, utcnow()) == 0  # another loop, another worker
    (event,) = _health_events(engine)
    assert event["data"]["goal_id"] == seeded["goal"]["id"]
    assert (event["data"]["from"], event["data"]["to"]) == ("on_track", "at_risk")
    assert event["text"] == "Goal 'Ship' is now at risk: 1 item is blocked."
    assert _count(engine, GoalHealthCheck) == 0


def test_a_rolled_back_status_change_asks_for_nothing(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings
) -> None:
    seeded = _subscribed_plan(client, tenant)
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(seeded["item"]["id"]))
        assert item is not None
        item.status = ItemStatus.blocked
        record_item_event(
            session, item, EventKind.status, actor="test", field="status", to_value="blocked"
        )
        session.flush()
        assert session.scalar(select(func.count()).select_from(GoalHealthCheck)) == 1
        session.rollback()
    assert _count(engine, GoalHealthCheck) == 0
    assert publish_goal_health(engine, settings, utcnow()) == 0
    assert _count(engine, NotificationDelivery) == 0


def test_two_workers_comparing_one_goal_at_once_enqueue_one_event(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings
) -> None:
    """The first worker has swapped the published health and not committed yet; the second one,
    holding another note of the same goal, waits for it and then finds nothing changed."""
    seeded = _subscribed_plan(client, tenant)
    _block(client, tenant, seeded["item"]["id"])
    workspace_id, goal_id = tenant.workspace_id, uuid.UUID(seeded["goal"]["id"])
    first = Session(engine)
    try:
        assert publish_health_changes(first, workspace_id, [goal_id], settings) == 1
        results: list[int] = []
        second = threading.Thread(
            target=lambda: results.append(publish_goal_health(engine, settings, utcnow()))
        )
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive()  # waiting for the first worker's swap
        first.commit()
        second.join(timeout=30)
        assert results == [0]
    finally:
        first.close()
    assert len(_health_events(engine)) == 1
    assert _count(engine, GoalHealthCheck) == 0
    state = _count(engine, GoalHealthState, col(GoalHealthState.health) == "at_risk")
    assert state == 1
