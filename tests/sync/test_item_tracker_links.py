"""Items and goals answer with their tracker links: key, URL, sync state, last sync, last error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.settings import Settings
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.retry import NO_WAIT_POLICY
from tests.conftest import Tenant
from tests.sync.conftest import Seeded, run_until_idle, seed


def _item(client: TestClient, tenant: Tenant, item_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/items/{item_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _listed_ids(client: TestClient, tenant: Tenant, query: str) -> set[str]:
    response = client.get(f"/api/v1/items?{query}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def _states(client: TestClient, tenant: Tenant, seeded: Seeded) -> list[str]:
    return [_item(client, tenant, i)["links"][0]["sync_state"] for i in seeded.item_ids]


@pytest.fixture
def impatient_engine(engine: Engine, settings: Settings) -> Iterator[SyncEngine]:
    """An engine that gives a push up after its first failure (``sync_max_attempts=1``)."""
    impatient = settings.model_copy(update={"sync_max_attempts": 1})
    context = EngineContext(
        engine, impatient, worker_id="impatient-worker", retry_policy=NO_WAIT_POLICY
    )
    yield SyncEngine(context)
    context.close()


def test_item_answers_show_the_tracker_key_url_and_synced_state(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=2)
    assert _item(client, tenant, seeded.item_ids[0])["links"] == []  # the engine links it

    run_until_idle(sync_engine)

    stored = {s.item_id: s for s in seeded.tracker.all_items()}
    link = _item(client, tenant, seeded.item_ids[0])["links"][0]
    tracker_id = stored[seeded.item_ids[0]].id
    assert link["key"] == f"MEM-{tracker_id}"
    assert link["url"].endswith(f"/items/{tracker_id}")
    assert link["connection_id"] == seeded.connection_id
    assert link["connection_name"].startswith("memory ")
    assert link["sync_state"] == "synced"
    assert link["last_synced_at"] is not None
    assert link["last_error"] is None
    listed = client.get(f"/api/v1/items?goal_id={seeded.goal_id}", headers=tenant.headers).json()
    assert {item["id"]: item["links"][0]["key"] for item in listed["items"]} == {
        item_id: f"MEM-{stored[item_id].id}" for item_id in seeded.item_ids
    }


def test_item_changed_through_the_api_is_pending_until_pushed(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)

    response = client.patch(
        f"/api/v1/items/{seeded.item_ids[0]}", json={"title": "Renamed"}, headers=tenant.headers
    )

    assert response.json()["links"][0]["sync_state"] == "pending"
    assert _listed_ids(client, tenant, "sync_state=pending") == set(seeded.item_ids)
    run_until_idle(sync_engine)
    assert _states(client, tenant, seeded) == ["synced"]


def test_failing_and_dead_pushes_show_their_error_and_filter_by_sync_state(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,
    impatient_engine: SyncEngine,
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)
    failing_id, dead_id, synced_id = seeded.item_ids
    seeded.tracker.inject_fault("server_error", count=-1)

    client.patch(f"/api/v1/items/{failing_id}", json={"title": "A"}, headers=tenant.headers)
    run_until_idle(sync_engine)  # one failed attempt, the next one waits for its back-off
    client.patch(f"/api/v1/items/{dead_id}", json={"title": "B"}, headers=tenant.headers)
    run_until_idle(impatient_engine)  # gives up at once

    assert _states(client, tenant, seeded) == ["failing", "dead", "synced"]
    dead_link = _item(client, tenant, dead_id)["links"][0]
    assert "503" in dead_link["last_error"]
    assert _listed_ids(client, tenant, "sync_state=dead") == {dead_id}
    assert _listed_ids(client, tenant, "sync_state=failing") == {failing_id}
    assert _listed_ids(client, tenant, "sync_state=dead&sync_state=failing") == {
        failing_id,
        dead_id,
    }
    assert _listed_ids(client, tenant, f"sync_state=synced&goal_id={seeded.goal_id}") == {synced_id}
    # The link id in the answer is the one the retry takes; a retried link waits for a push.
    retried = client.post(f"/api/v1/sync/dead/{dead_link['id']}/retry", headers=tenant.headers)
    assert retried.status_code == 200, retried.text
    assert _item(client, tenant, dead_id)["links"][0]["sync_state"] == "pending"


def test_item_deleted_in_the_tracker_shows_a_deleted_link(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[0]

    seeded.tracker.person_deletes(str(stored.id))
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))

    assert _states(client, tenant, seeded) == ["deleted"]
    assert _listed_ids(client, tenant, "sync_state=deleted") == set(seeded.item_ids)


def test_goal_answers_show_their_tracker_mirror(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=1, mirror_goal=True)
    run_until_idle(sync_engine)
    mirror = next(s for s in seeded.tracker.all_items() if s.kind == "goal")

    goal = client.get(f"/api/v1/goals/{seeded.goal_id}", headers=tenant.headers).json()
    listed = client.get(f"/api/v1/goals?plan_id={seeded.plan_id}", headers=tenant.headers).json()

    assert [(link["key"], link["sync_state"]) for link in goal["links"]] == [
        (f"MEM-{mirror.id}", "synced")
    ]
    assert listed["items"][0]["links"] == goal["links"]
    renamed = client.patch(
        f"/api/v1/goals/{seeded.goal_id}", json={"title": "Renamed"}, headers=tenant.headers
    )
    assert renamed.json()["links"][0]["sync_state"] == "pending"


def test_sync_state_filter_is_scoped_to_the_callers_workspace(
    client: TestClient, tenant: Tenant, make_tenant: Any, sync_engine: SyncEngine
) -> None:
    seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    other = make_tenant("globex")

    response = client.get("/api/v1/items?sync_state=synced", headers=other.headers)

    assert response.json()["total"] == 0
    assert _listed_ids(client, tenant, "sync_state=synced") != set()


def test_unknown_sync_state_is_a_422_naming_the_field(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/api/v1/items?sync_state=lost", headers=tenant.headers)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "sync_state" in response.json()["errors"][0]["loc"]


def test_a_list_page_loads_all_its_links_in_one_query(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=6, mirror_goal=True)
    run_until_idle(sync_engine)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        items = client.get(f"/api/v1/items?goal_id={seeded.goal_id}", headers=tenant.headers)
        goals = client.get(f"/api/v1/goals?plan_id={seeded.plan_id}", headers=tenant.headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert all(item["links"] for item in items.json()["items"])
    assert goals.json()["items"][0]["links"]
    assert len([s for s in statements if "external_link" in s]) == 2
