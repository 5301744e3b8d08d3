"""Deliveries processed in batches: one transaction per connection, once each, never backwards."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.models import ActionItem, ItemEvent, WebhookDelivery
from app.models.planning import EventSource, ItemStatus
from app.settings import Settings
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign, webhook_body
from sync.context import EngineContext
from sync.deliveries import process_claimed_deliveries
from sync.engine import SyncEngine
from sync.retry import NO_WAIT_POLICY
from sync.scheduler import claim
from tests.conftest import Tenant
from tests.sync.conftest import Seeded, run_until_idle, seed


def _post(client: TestClient, seeded: Seeded, body: bytes, delivery: str) -> None:
    headers = {SIGNATURE_HEADER: sign(seeded.webhook_secret, body), DELIVERY_HEADER: delivery}
    response = client.post(f"/webhooks/{seeded.connection_id}", content=body, headers=headers)
    assert response.status_code == 202, response.text


def _tracker_status_changes(engine, item_id: str) -> list[tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        events = session.exec(
            select(ItemEvent)
            .where(
                ItemEvent.item_id == uuid.UUID(item_id),
                ItemEvent.kind == "status",
                ItemEvent.source == EventSource.tracker,
            )
            .order_by(col(ItemEvent.at), col(ItemEvent.id))
        ).all()
    return [(event.from_value, event.to_value) for event in events]


def _deliveries(engine) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(WebhookDelivery)).all())


def test_one_batch_applies_hints_in_arrival_order_and_never_an_older_state(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine
) -> None:
    seeded = seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    first, second = seeded.tracker.all_items()
    started = webhook_body(seeded.tracker.person_sets_status(str(first.id), "in_progress"))  # type: ignore[arg-type]
    finished = webhook_body(seeded.tracker.person_sets_status(str(first.id), "done"))  # type: ignore[arg-type]
    older = webhook_body(seeded.tracker.person_sets_status(str(second.id), "in_progress"))  # type: ignore[arg-type]
    newer = webhook_body(seeded.tracker.person_sets_status(str(second.id), "blocked"))  # type: ignore[arg-type]
    for number, body in enumerate([started, newer, finished, older, finished]):
        _post(client, seeded, body, f"d-{number}")

    assert sync_engine.process_deliveries() == 5  # one claim, one transaction

    assert _tracker_status_changes(engine, first.item_id or "") == [
        ("todo", "in_progress"),
        ("in_progress", "done"),
    ]
    # The in_progress state of the second item arrived after the newer blocked one: not applied.
    assert _tracker_status_changes(engine, second.item_id or "") == [("todo", "blocked")]
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(second.item_id or ""))
    assert item is not None and item.status == ItemStatus.blocked
    outcomes = sorted((d.delivery_id, d.outcome, d.attempts) for d in _deliveries(engine))
    assert outcomes == [
        ("d-0", "applied 1 of 1 hints", 1),
        ("d-1", "applied 1 of 1 hints", 1),
        ("d-2", "applied 1 of 1 hints", 1),
        ("d-3", "applied 0 of 1 hints", 1),
        ("d-4", "applied 1 of 1 hints", 1),
    ]


def test_a_batch_whose_lease_was_lost_is_not_applied_and_stays_for_its_holder(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, context: EngineContext, engine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    stored = seeded.tracker.all_items()[0]
    _post(
        client, seeded, webhook_body(seeded.tracker.person_sets_status(str(stored.id), "done")), "d"
    )  # type: ignore[arg-type]
    now = context.clock.now()
    claimed = claim(
        engine,
        WebhookDelivery,
        worker_id=context.worker_id,
        now=now,
        lease=context.lease,
        conditions=[col(WebhookDelivery.processed_at).is_(None)],
    )
    assert len(claimed) == 1
    # The lease expired while this worker was stalled, and another worker took the delivery over.
    with Session(engine) as session:
        session.execute(
            update(WebhookDelivery)
            .values(leased_by="other-worker", lease_until=now + timedelta(minutes=2))
            .execution_options(synchronize_session=False)
        )
        session.commit()

    assert process_claimed_deliveries(context, claimed) == []

    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(stored.item_id or ""))
        delivery = session.get(WebhookDelivery, claimed[0])
    assert item is not None and item.status == ItemStatus.todo  # nothing half-applied
    assert delivery is not None and delivery.processed_at is None and delivery.attempts == 0
    assert delivery.leased_by == "other-worker"


def test_two_workers_process_every_delivery_exactly_once_and_end_on_the_newest_state(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine, settings: Settings, backend
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)
    statuses = ["in_progress", "blocked", "in_progress", "done"]
    number = 0
    for status in statuses:
        for stored in seeded.tracker.all_items():
            body = webhook_body(seeded.tracker.person_sets_status(str(stored.id), status))  # type: ignore[arg-type]
            for _copy in range(5):  # the same state delivered under several delivery ids
                _post(client, seeded, body, f"d-{number}")
                number += 1
    engines = [
        SyncEngine(EngineContext(engine, settings, worker_id=f"w{n}", retry_policy=NO_WAIT_POLICY))
        for n in range(2)
    ]

    def drain(worker: SyncEngine) -> None:
        while worker.process_deliveries(limit=7):
            pass

    if backend == "postgres":  # concurrent workers on the multi-process backend
        threads = [threading.Thread(target=drain, args=(worker,)) for worker in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    else:  # SQLite runs one worker; interleave two engines' batches instead
        while any(worker.process_deliveries(limit=7) for worker in engines):
            pass

    deliveries = _deliveries(engine)
    assert len(deliveries) == number
    assert all(d.processed_at is not None and d.attempts == 1 for d in deliveries)
    with Session(engine) as session:
        items = [session.get(ActionItem, uuid.UUID(item_id)) for item_id in seeded.item_ids]
    assert all(item is not None and item.status == ItemStatus.done for item in items)
