"""Webhook inbox and pull: signed, stored once, hints never move state backwards, tombstones."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import ActionItem, ExternalLink, ItemEvent, WebhookDelivery
from app.models.hours_ledger import GoalHoursChange
from app.models.planning import EventSource, ItemStatus
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign, webhook_body
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed


def _post(client: TestClient, connection_id: str, body: bytes, secret: str, delivery: str) -> int:
    headers = {SIGNATURE_HEADER: sign(secret, body), DELIVERY_HEADER: delivery}
    return client.post(f"/webhooks/{connection_id}", content=body, headers=headers).status_code


def _deliveries(engine) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(WebhookDelivery)).all())


def test_signed_webhook_marks_item_done_with_a_tracker_event(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seeded = seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[0]
    changed = seeded.tracker.person_sets_status(str(stored.id), "done")
    assert changed is not None
    body = webhook_body(changed)
    assert _post(client, seeded.connection_id, body, seeded.webhook_secret, "d-1") == 202
    sync_engine.process_deliveries()
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(stored.item_id or ""))
        assert item is not None and item.status == ItemStatus.done and item.done_at is not None
        events = session.exec(select(ItemEvent).where(ItemEvent.kind == "status")).all()
    assert [(e.source, e.to_value) for e in events if e.source == EventSource.tracker] == [
        (EventSource.tracker, "done")
    ]
    assert _deliveries(engine)[0].processed_at is not None


def test_forged_signature_is_refused_and_nothing_is_stored(
    client: TestClient, tenant: Tenant, engine
) -> None:
    seeded = seed(client, tenant, items=0)
    body = b'{"event": "item.updated", "item": {}}'
    assert _post(client, seeded.connection_id, body, "not-the-secret", "d-1") == 401
    response = client.post(f"/webhooks/{seeded.connection_id}", content=body)
    assert response.status_code == 401
    assert _deliveries(engine) == []


def test_same_delivery_three_times_is_stored_and_processed_once(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[0]
    body = webhook_body(seeded.tracker.person_sets_status(str(stored.id), "in_progress"))  # type: ignore[arg-type]
    codes = [
        _post(client, seeded.connection_id, body, seeded.webhook_secret, "same") for _ in range(3)
    ]
    assert codes == [202, 202, 202]
    assert sync_engine.process_deliveries() == 1
    assert sync_engine.process_deliveries() == 0
    with Session(engine) as session:
        events = session.exec(
            select(ItemEvent).where(
                ItemEvent.kind == "status", ItemEvent.source == EventSource.tracker
            )
        ).all()
    assert len(events) == 1
    assert len(_deliveries(engine)) == 1


def test_older_event_does_not_move_status_backwards(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[0]
    older = webhook_body(seeded.tracker.person_sets_status(str(stored.id), "in_progress"))  # type: ignore[arg-type]
    newer = webhook_body(seeded.tracker.person_sets_status(str(stored.id), "done"))  # type: ignore[arg-type]
    assert _post(client, seeded.connection_id, newer, seeded.webhook_secret, "new") == 202
    sync_engine.process_deliveries()
    assert _post(client, seeded.connection_id, older, seeded.webhook_secret, "old") == 202
    sync_engine.process_deliveries()
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(stored.item_id or ""))
    assert item is not None and item.status == ItemStatus.done


def test_oversized_body_is_413_and_unknown_connection_404_and_head_200(
    client: TestClient, tenant: Tenant, settings, engine
) -> None:
    seeded = seed(client, tenant, items=0)
    big = b"x" * (settings.max_body_bytes + 1)
    response = client.post(f"/webhooks/{seeded.connection_id}", content=big)
    assert response.status_code == 413
    assert client.post(f"/webhooks/{uuid.uuid4()}", content=b"{}").status_code == 404
    assert client.head(f"/webhooks/{seeded.connection_id}").status_code == 200
    assert _deliveries(engine) == []


def test_rotated_secret_keeps_the_old_one_valid_during_the_grace(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed(client, tenant, items=0)
    rotated = client.post(
        f"/api/v1/connections/{seeded.connection_id}/webhook-secret/rotate",
        json={"grace_hours": 1},
        headers=tenant.headers,
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["webhook_secret"]
    body = b'{"event": "ping"}'
    assert _post(client, seeded.connection_id, body, seeded.webhook_secret, "a") == 202
    assert _post(client, seeded.connection_id, body, new_secret, "b") == 202
    client.post(
        f"/api/v1/connections/{seeded.connection_id}/webhook-secret/rotate",
        json={"grace_hours": 0},
        headers=tenant.headers,
    )
    assert _post(client, seeded.connection_id, body, new_secret, "c") == 401


def test_poll_without_webhooks_marks_item_done(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[1]
    seeded.tracker.person_sets_status(str(stored.id), "done")
    calls_before = seeded.tracker.count("calls:fetch_changes")
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    assert seeded.tracker.count("calls:fetch_changes") == calls_before + 1
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(stored.item_id or ""))
    assert item is not None and item.status == ItemStatus.done


def test_vanished_item_is_tombstoned_only_after_a_successful_fetch(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seeded = seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[0]
    seeded.tracker.person_deletes(str(stored.id))
    seeded.tracker.inject_fault("server_error", count=-1)
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    with Session(engine) as session:
        assert all(link.tombstoned_at is None for link in session.exec(select(ExternalLink)))
    seeded.tracker.clear_faults()
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    with Session(engine) as session:
        tombstoned = [link for link in session.exec(select(ExternalLink)) if link.tombstoned_at]
        facts = session.exec(select(ItemEvent).where(ItemEvent.field == "tracker_deleted")).all()
    assert [link.external_id for link in tombstoned] == [str(stored.id)]
    assert [(fact.kind, fact.source) for fact in facts] == [("sync", EventSource.tracker)]
    assert facts[0].item_id == uuid.UUID(stored.item_id or "")


def test_item_whose_tracker_object_was_deleted_stays_in_its_goal(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    """A deletion in the tracker tombstones the link only: the item keeps its status and keeps
    counting in its goal's hours ledger (whose sum must equal the items' hours)."""
    seeded = seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[0]
    seeded.tracker.person_deletes(str(stored.id))
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    with Session(engine) as session:
        items = session.exec(select(ActionItem)).all()
        ledger = session.exec(select(GoalHoursChange)).all()
        deletions = session.exec(select(ItemEvent).where(ItemEvent.kind == "deleted")).all()
    assert len(items) == 2 and {item.status for item in items} == {ItemStatus.todo}
    assert sum(item.estimate_hours for item in items) > 0
    assert round(sum(row.total_hours for row in ledger), 6) == round(
        sum(item.estimate_hours for item in items), 6
    )
    assert deletions == []


def test_failing_tracker_changes_no_item_and_backs_off_the_poll(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)
    for stored in seeded.tracker.all_items():
        seeded.tracker.person_sets_status(str(stored.id), "done")
    seeded.tracker.inject_fault("server_error", count=-1)
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    with Session(engine) as session:
        items = session.exec(select(ActionItem)).all()
        assert {item.status for item in items} == {ItemStatus.todo}
    health = client.get(
        f"/api/v1/connections/{seeded.connection_id}/health", headers=tenant.headers
    )
    assert health.status_code == 200
    assert health.json()["consecutive_failures"] == 1
    assert "503" in health.json()["last_error"]
