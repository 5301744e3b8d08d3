"""Moves: an item routed to another connection or scope is created at its new target once, and
its old tracker object is closed out as moved (never deleted), with events recording both."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ActionItem, ExternalLink, ItemEvent
from app.models.planning import ItemStatus
from connectors.memory_store import MemoryTracker, StoredItem
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import create_memory_connection, run_until_idle, seed


def _objects(tracker: MemoryTracker, item_id: str, scope: str | None = None) -> list[StoredItem]:
    return [s for s in tracker.all_items(scope) if s.item_id == item_id and not s.deleted]


def _sync_events(engine: Engine, item_id: str) -> list[tuple[str | None, dict[str, Any]]]:
    with Session(engine) as session:
        events = session.exec(
            select(ItemEvent)
            .where(ItemEvent.item_id == uuid.UUID(item_id), ItemEvent.kind == "sync")
            .order_by(ItemEvent.at)
        ).all()
    return [(event.field, dict(event.data or {})) for event in events]


def _links(engine: Engine, item_id: str) -> list[ExternalLink]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(ExternalLink).where(ExternalLink.item_id == uuid.UUID(item_id))
            ).all()
        )


def _make_everything_due(engine: Engine) -> None:
    """Skip the back-off waits (what time would do) so the test converges at once."""
    with Session(engine) as session:
        for link in session.exec(select(ExternalLink)):
            link.next_attempt_at = None
            session.add(link)
        session.commit()


def _move(client: TestClient, tenant: Tenant, path: str, body: dict[str, Any]) -> None:
    response = client.patch(path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text


def test_an_item_moved_to_another_connection_is_created_there_and_closed_out_at_the_old_one(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    moved_id, staying_id = seeded.item_ids
    old = _objects(seeded.tracker, moved_id)[0]
    target = create_memory_connection(client, tenant)
    new_tracker = MemoryTracker(target["base_url"].removeprefix("memory://"))

    _move(client, tenant, f"/api/v1/items/{moved_id}", {"connection_id": target["id"]})
    sync_engine.run_pass()

    created = _objects(new_tracker, moved_id)
    assert len(created) == 1 and created[0].title == "Item 0"
    closed = seeded.tracker.get(old.id)
    assert closed is not None and not closed.deleted  # never deleted
    assert closed.status == "dropped"
    assert closed.description.startswith("Moved by planbridge to ")
    assert seeded.tracker.get(_objects(seeded.tracker, staying_id)[0].id).status == "todo"
    events = _sync_events(engine, moved_id)
    assert [field for field, _ in events] == ["external_key", "route", "external_key", "closed_out"]
    route = events[1][1]
    assert (route["from_connection_id"], route["to_connection_id"]) == (
        seeded.connection_id,
        target["id"],
    )
    links = _links(engine, moved_id)
    assert sorted(str(link.connection_id) for link in links if link.moved_at is None) == [
        target["id"]
    ]

    # Pulling the old connection sees the closed object: it is history, not the item's status.
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(moved_id))
        assert item is not None and item.status == ItemStatus.todo
    run_until_idle(sync_engine)
    sync_engine.run_pass()
    assert len(_objects(new_tracker, moved_id)) == 1
    assert len(_sync_events(engine, moved_id)) == 4


def test_a_scope_change_within_a_connection_moves_the_item_and_back_again(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=1)
    item_id = seeded.item_ids[0]
    run_until_idle(sync_engine)
    _move(client, tenant, f"/api/v1/items/{item_id}", {"scope": "OTHER"})
    sync_engine.run_pass()
    assert len(_objects(seeded.tracker, item_id, "OTHER")) == 1
    [first] = _objects(seeded.tracker, item_id, "TEAM")
    assert first.status == "dropped"

    # Moving back starts a third object; the first one stays closed, as history.
    _move(client, tenant, f"/api/v1/items/{item_id}", {"scope": "TEAM"})
    sync_engine.run_pass()
    team = sorted(_objects(seeded.tracker, item_id, "TEAM"), key=lambda s: s.id)
    assert [s.status for s in team] == ["dropped", "todo"]
    assert [s.status for s in _objects(seeded.tracker, item_id, "OTHER")] == ["dropped"]
    live = [link for link in _links(engine, item_id) if link.moved_at is None]
    assert [link.external_id for link in live] == [str(team[1].id)]


def test_naming_the_default_scope_explicitly_is_not_a_move(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    _move(client, tenant, f"/api/v1/items/{seeded.item_ids[0]}", {"scope": "TEAM"})
    sync_engine.run_pass()
    assert len(_links(engine, seeded.item_ids[0])) == 1
    assert seeded.tracker.object_count() == 1


def test_a_goal_routed_elsewhere_takes_its_items_along(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)
    target = create_memory_connection(client, tenant)
    new_tracker = MemoryTracker(target["base_url"].removeprefix("memory://"))
    _move(client, tenant, f"/api/v1/goals/{seeded.goal_id}", {"connection_id": target["id"]})
    sync_engine.run_pass()
    assert sorted(s.item_id for s in new_tracker.all_items() if s.kind == "item") == sorted(
        seeded.item_ids
    )
    assert {s.status for s in seeded.tracker.all_items() if s.kind == "item"} == {"dropped"}


def test_a_lost_create_at_the_new_target_is_found_by_its_marker_not_made_twice(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=1)
    item_id = seeded.item_ids[0]
    run_until_idle(sync_engine)
    target = create_memory_connection(client, tenant)
    new_tracker = MemoryTracker(target["base_url"].removeprefix("memory://"))
    new_tracker.inject_fault("lose_create_response")  # committed there, the answer never comes
    seeded.tracker.inject_fault("server_error", count=1)  # and the first close-out fails
    _move(client, tenant, f"/api/v1/items/{item_id}", {"connection_id": target["id"]})
    for _ in range(4):
        sync_engine.run_pass()
        _make_everything_due(engine)
    assert len(_objects(new_tracker, item_id)) == 1
    assert new_tracker.count("calls:create") == 1
    [old] = _objects(seeded.tracker, item_id)
    assert old.status == "dropped" and old.description.count("Moved by planbridge") == 1
    fields = [field for field, _ in _sync_events(engine, item_id)]
    assert fields.count("route") == 1 and fields.count("closed_out") == 1


def test_after_a_move_the_item_points_to_its_new_tracker_object(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=1)
    item_id = seeded.item_ids[0]
    _move(client, tenant, f"/api/v1/items/{item_id}", {"status": "blocked"})  # listed for attention
    run_until_idle(sync_engine)
    target = create_memory_connection(client, tenant)
    _move(client, tenant, f"/api/v1/items/{item_id}", {"connection_id": target["id"]})
    sync_engine.run_pass()
    [live] = [link for link in _links(engine, item_id) if link.moved_at is None]
    assert live.url is not None and live.url.startswith(target["base_url"])
    response = client.get(f"/api/v1/plans/{seeded.plan_id}/attention", headers=tenant.headers)
    assert response.status_code == 200, response.text
    urls = [entry["tracker_url"] for entry in response.json()["items"]]
    assert urls == [live.url]
