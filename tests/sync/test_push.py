"""Push: items reach the tracker once, with owner, due date, marker; ownership rules hold."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import ExternalLink, ItemEvent
from connectors.base import marker_text
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed


def test_items_are_created_once_with_owner_due_date_and_marker(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=5)
    run_until_idle(sync_engine)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()
    assert sorted(s.item_id for s in stored if s.kind == "item") == sorted(seeded.item_ids)
    first = next(s for s in stored if s.item_id == seeded.item_ids[0])
    assert first.assignee == "alice"
    assert first.due_date is not None
    assert "planbridge" in first.labels
    assert marker_text(uuid.UUID(seeded.item_ids[0])) in first.description
    assert seeded.tracker.count("calls:create") == 5


def test_goal_mirror_is_created_first_and_items_get_it_as_parent(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=2, mirror_goal=True)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()
    goal = next(s for s in stored if s.kind == "goal")
    assert goal.item_id == seeded.goal_id
    assert {s.parent for s in stored if s.kind == "item"} == {str(goal.id)}


def test_api_change_writes_only_the_changed_field(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    writes_before = seeded.tracker.count("writes")
    response = client.patch(
        f"/api/v1/items/{seeded.item_ids[0]}", json={"title": "Renamed"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    run_until_idle(sync_engine)
    assert seeded.tracker.count("writes") == writes_before + 1
    assert seeded.tracker.all_items()[0].title == "Renamed"


def test_person_edit_in_tracker_is_kept_and_recorded_as_drift(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[0]
    seeded.tracker.person_edits_title(str(stored.id), "Better title from a person")
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    # A planning change of another field must not overwrite the person's title.
    client.patch(
        f"/api/v1/items/{seeded.item_ids[0]}", json={"estimate_hours": 6}, headers=tenant.headers
    )
    run_until_idle(sync_engine)
    assert seeded.tracker.get(stored.id).title == "Better title from a person"
    with Session(engine) as session:
        drift = session.exec(select(ItemEvent).where(ItemEvent.kind == "drift")).all()
    assert [(d.field, d.to_value) for d in drift] == [("title", "Better title from a person")]
    # Until planbridge changes that field again: then its value wins.
    client.patch(
        f"/api/v1/items/{seeded.item_ids[0]}", json={"title": "Ours"}, headers=tenant.headers
    )
    run_until_idle(sync_engine)
    assert seeded.tracker.get(stored.id).title == "Ours"


def test_tracker_status_is_not_overwritten_but_an_api_status_change_is_pushed(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    first, second = seeded.tracker.all_items()
    seeded.tracker.person_sets_status(str(first.id), "in_progress")
    client.patch(f"/api/v1/items/{first.item_id}", json={"title": "Edited"}, headers=tenant.headers)
    run_until_idle(sync_engine)
    assert seeded.tracker.get(first.id).status == "in_progress"
    client.patch(
        f"/api/v1/items/{second.item_id}", json={"status": "blocked"}, headers=tenant.headers
    )
    run_until_idle(sync_engine)
    assert seeded.tracker.get(second.id).status == "blocked"


def test_links_record_the_pushed_revision(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    with Session(engine) as session:
        link = session.exec(select(ExternalLink)).one()
    assert link.external_id is not None
    assert link.pushed_revision >= 1
    assert link.create_started_at is not None
