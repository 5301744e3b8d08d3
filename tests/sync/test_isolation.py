"""A tracker that hangs never blocks other connections, with the default worker settings.

Connection A's tracker blocks every call on a ``threading.Event`` (what a tracker timing out does
to the thread that called it); connection B's answers at once. The embedded worker of
``planbridge serve`` (its default thread count) creates B's new items, pulls B's changes and
applies B's webhook delivery while A is blocked; once A answers again, everything converges,
each item and delivery exactly once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ActionItem, Connection, ItemEvent, WebhookDelivery
from app.models.planning import EventSource, ItemStatus
from app.settings import Settings
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, MemoryConnector, sign, webhook_body
from sync.connection_slots import ConnectionSlots
from sync.engine import SyncEngine
from sync.worker import CONNECTION_THREADS, EMBEDDED_WORKER_THREADS, start_embedded_worker
from tests.conftest import Tenant
from tests.sync.conftest import add_item, run_until_idle, seed


class HangingTracker:
    """Makes every call to one memory tracker wait until ``released`` (and counts who waits)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.released = threading.Event()
        self.entered = threading.Event()
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original: Callable[..., None] = MemoryConnector._call
        gate = self

        def call(connector: MemoryConnector, operation: str, *, is_write: bool = False) -> None:
            if connector.config.base_url == gate.base_url and not gate.released.is_set():
                with gate._lock:
                    gate.inside += 1
                    gate.most_inside = max(gate.most_inside, gate.inside)
                gate.entered.set()
                gate.released.wait(timeout=120)  # the bound only keeps a broken build from hanging
                with gate._lock:
                    gate.inside -= 1
            original(connector, operation, is_write=is_write)

        monkeypatch.setattr(MemoryConnector, "_call", call)


def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Poll until ``condition()`` holds; the bound only keeps a broken build from hanging."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met while the worker ran")
        time.sleep(0.05)


@pytest.fixture
def hanging(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[HangingTracker]]:
    gates: list[HangingTracker] = []
    yield gates
    for gate in gates:  # never leave a worker thread waiting after the test
        gate.released.set()


def _item_status(engine: Engine, item_id: str) -> ItemStatus:
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(item_id))
        assert item is not None
        return item.status


def _deliveries(engine: Engine) -> list[WebhookDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(WebhookDelivery)).all())


def test_hanging_tracker_leaves_other_connections_their_pushes_and_webhooks(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sync_engine: SyncEngine,
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    hanging: list[HangingTracker],
) -> None:
    slow = seed(client, tenant, items=2)
    fast = seed(client, other_tenant, items=2)
    run_until_idle(sync_engine)  # both trackers answer: everything so far is created
    assert slow.tracker.object_count() == 2 and fast.tracker.object_count() == 2

    base_url = client.get(
        f"/api/v1/connections/{slow.connection_id}", headers=tenant.headers
    ).json()["base_url"]
    gate = HangingTracker(base_url)
    hanging.append(gate)
    gate.install(monkeypatch)

    # Work for both: new items, both pulls due now, a person closing one of B's items (a
    # webhook) and another one without a webhook (found by B's pull).
    slow.item_ids += [add_item(client, tenant, slow, f"Slow {n}") for n in range(3)]
    fast.item_ids += [add_item(client, other_tenant, fast, f"Fast {n}") for n in range(3)]
    with Session(engine) as session:
        for seeded in (slow, fast):
            connection = session.get(Connection, uuid.UUID(seeded.connection_id))
            assert connection is not None
            connection.next_poll_at = None
            session.add(connection)
        session.commit()
    by_item = {stored.item_id: stored for stored in fast.tracker.all_items()}
    pulled = fast.tracker.person_sets_status(str(by_item[fast.item_ids[1]].id), "done")
    assert pulled is not None
    closed = fast.tracker.person_sets_status(str(by_item[fast.item_ids[0]].id), "done")
    assert closed is not None
    body = webhook_body(closed)
    headers = {SIGNATURE_HEADER: sign(fast.webhook_secret, body), DELIVERY_HEADER: "fast-1"}
    response = client.post(f"/webhooks/{fast.connection_id}", content=body, headers=headers)
    assert response.status_code == 202, response.text

    worker = start_embedded_worker(settings, engine)
    try:
        assert len(worker._threads) == EMBEDDED_WORKER_THREADS
        worker.wake()
        wait_for(
            lambda: (
                gate.entered.is_set()
                and len(fast.tracker.marker_counts()) == 5
                and _item_status(engine, fast.item_ids[0]) == ItemStatus.done
                and _item_status(engine, fast.item_ids[1]) == ItemStatus.done
            )
        )
        # All of that happened while A's tracker held a thread and answered nothing.
        assert not gate.released.is_set()
        assert slow.tracker.object_count() == 2
        assert [d.processed_at is not None for d in _deliveries(engine)] == [True]

        gate.released.set()
        wait_for(lambda: len(slow.tracker.marker_counts()) == 5)
        wait_for(lambda: not worker.slots.full())
    finally:
        gate.released.set()
        worker.stop()

    assert gate.most_inside <= CONNECTION_THREADS  # never more threads than its cap in A
    for tracker, item_ids in ((slow.tracker, slow.item_ids), (fast.tracker, fast.item_ids)):
        counts = tracker.marker_counts()
        assert sorted(counts) == sorted(item_ids)
        assert set(counts.values()) == {1}
    [delivery] = _deliveries(engine)
    assert delivery.processed_at is not None and delivery.attempts == 1
    with Session(engine) as session:
        closed_events = session.exec(
            select(ItemEvent).where(
                ItemEvent.kind == "status", ItemEvent.source == EventSource.tracker
            )
        ).all()
    assert sorted((str(e.item_id), e.to_value) for e in closed_events) == sorted(
        [(fast.item_ids[0], "done"), (fast.item_ids[1], "done")]
    )


def test_connection_with_all_its_slots_taken_is_left_out_of_push_and_pull_claims(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=2)
    connection_id = uuid.UUID(seeded.connection_id)
    slots = ConnectionSlots(1)
    sync_engine.context.slots = slots
    assert slots.enter(connection_id)  # another thread of this process is in its tracker
    calls = seeded.tracker.count("calls")
    step = sync_engine.step()
    assert (step.pulls, sum(step.pushes.values())) == (0, 0)
    assert seeded.tracker.count("calls") == calls
    slots.leave(connection_id)
    run_until_idle(sync_engine)
    assert set(seeded.tracker.marker_counts().values()) == {1}
    assert len(seeded.tracker.marker_counts()) == 2


def test_delivery_needing_a_busy_tracker_waits_without_holding_up_another_connection(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    slow = seed(client, tenant, items=1)
    fast = seed(client, other_tenant, items=1)
    run_until_idle(sync_engine)
    # A person deletes each object: a deletion is confirmed with the tracker, one at a time.
    for seeded, name in ((slow, "slow-1"), (fast, "fast-1")):
        [stored] = seeded.tracker.all_items()
        deleted = seeded.tracker.person_deletes(str(stored.id))
        assert deleted is not None
        body = webhook_body(deleted, "item.deleted")
        headers = {SIGNATURE_HEADER: sign(seeded.webhook_secret, body), DELIVERY_HEADER: name}
        response = client.post(f"/webhooks/{seeded.connection_id}", content=body, headers=headers)
        assert response.status_code == 202, response.text
    slots = ConnectionSlots(1)
    sync_engine.context.slots = slots
    slow_id = uuid.UUID(slow.connection_id)
    assert slots.enter(slow_id)  # another thread of this process is in the slow tracker

    assert sync_engine.process_deliveries() == 2  # both claimed, the slow one's handed back
    by_name = {d.delivery_id: d for d in _deliveries(engine)}
    assert by_name["fast-1"].processed_at is not None
    held = by_name["slow-1"]
    assert held.processed_at is None and held.attempts == 0 and held.leased_by is None
    assert held.lease_until is not None  # not claimable again at once: no busy loop
    assert sync_engine.process_deliveries() == 0

    slots.leave(slow_id)
    with Session(engine) as session:  # what the short wait would do
        row = session.get(WebhookDelivery, held.id)
        assert row is not None
        row.lease_until = None
        session.add(row)
        session.commit()
    assert sync_engine.process_deliveries() == 1
    assert all(d.processed_at is not None and d.attempts == 1 for d in _deliveries(engine))


def test_slots_cap_each_connection_separately() -> None:
    slots = ConnectionSlots(2)
    first, second = uuid.uuid4(), uuid.uuid4()
    assert slots.enter(first) and slots.enter(first) and not slots.enter(first)
    assert slots.enter(second)
    assert slots.full() == [first]
    with slots.occupy(second) as entered:
        assert entered and set(slots.full()) == {first, second}
    slots.leave(first)
    assert slots.full() == []
    with pytest.raises(ValueError):
        ConnectionSlots(0)
