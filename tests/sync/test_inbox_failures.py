"""A delivery that fails to parse or apply is counted against itself only, then dead.

The memory connector stands for any connector (a third-party one included) whose parser or whose
applied state raises something the engine did not expect.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ActionItem, WebhookDelivery
from app.models.planning import ItemStatus
from app.settings import Settings
from connectors.base import RemoteItem
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign, webhook_body
from sync import deliveries
from sync.clock import SystemClock
from sync.context import EngineContext
from sync.deliveries import MAX_PROCESSING_ATTEMPTS
from sync.engine import SyncEngine
from sync.retry import NO_WAIT_POLICY
from tests.conftest import Tenant
from tests.sync.conftest import Seeded, run_until_idle, seed


class MovableClock(SystemClock):
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.offset


def _post(client: TestClient, seeded: Seeded, body: bytes, delivery: str) -> None:
    headers = {SIGNATURE_HEADER: sign(seeded.webhook_secret, body), DELIVERY_HEADER: delivery}
    response = client.post(f"/webhooks/{seeded.connection_id}", content=body, headers=headers)
    assert response.status_code == 202, response.text


def _delivery(engine: Engine, delivery_id: str) -> WebhookDelivery:
    with Session(engine) as session:
        found = session.exec(
            select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
        ).one()
    return found


def _status(engine: Engine, item_id: str | None) -> ItemStatus:
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(item_id or ""))
    assert item is not None
    return item.status


def test_a_failing_batch_is_applied_one_delivery_at_a_time_and_only_the_faulty_one_counts(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)
    first, faulty, last = seeded.tracker.all_items()
    for number, stored in enumerate([first, faulty, last]):
        body = webhook_body(seeded.tracker.person_sets_status(str(stored.id), "done"))  # type: ignore[arg-type]
        _post(client, seeded, body, f"d-{number}")
    applying = deliveries.apply_to_link  # what a batch applies each state with

    def apply_with_a_bug(
        session: Any, connection: Any, link: Any, remote: RemoteItem, *args: Any
    ) -> str:
        if remote.ref.external_id == str(faulty.id):
            raise RuntimeError("a bug met by this one object")
        return applying(session, connection, link, remote, *args)

    monkeypatch.setattr(deliveries, "apply_to_link", apply_with_a_bug)

    assert sync_engine.process_deliveries() == 3  # one claim, one batch that fails as a whole

    assert _status(engine, first.item_id) == ItemStatus.done
    assert _status(engine, last.item_id) == ItemStatus.done
    assert _status(engine, faulty.item_id) == ItemStatus.todo
    failed = _delivery(engine, "d-1")
    assert (failed.processed_at, failed.attempts, failed.dead) == (None, 1, False)
    assert failed.last_error == "RuntimeError: a bug met by this one object"
    assert failed.leased_by is None and failed.lease_until is not None  # claimable after a wait
    for applied in ("d-0", "d-2"):
        delivery = _delivery(engine, applied)
        assert delivery.outcome == "applied 1 of 1 hints" and delivery.attempts == 1


def test_a_delivery_whose_parser_raises_is_retried_then_dead_after_its_attempts(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings
) -> None:
    clock = MovableClock()
    context = EngineContext(
        engine, settings, worker_id="parser-bug", clock=clock, retry_policy=NO_WAIT_POLICY
    )
    sync_engine = SyncEngine(context)
    try:
        seeded = seed(client, tenant, items=1)
        run_until_idle(sync_engine)
        stored = seeded.tracker.all_items()[0]
        payload = json.loads(webhook_body(stored))  # type: ignore[arg-type]
        payload["item"]["status"] = "finished"  # the memory parser raises ValueError on it
        _post(client, seeded, json.dumps(payload).encode(), "poison")
        good = webhook_body(seeded.tracker.person_sets_status(str(stored.id), "in_progress"))  # type: ignore[arg-type]
        _post(client, seeded, good, "good")

        seen: list[tuple[int, bool]] = []
        for _attempt in range(MAX_PROCESSING_ATTEMPTS):
            sync_engine.process_deliveries()
            poison = _delivery(engine, "poison")
            seen.append((poison.attempts, poison.dead))
            clock.offset += timedelta(seconds=5 * poison.attempts + 1)  # past its back-off

        assert seen == [(n, n == MAX_PROCESSING_ATTEMPTS) for n in range(1, 6)]
        assert poison.processed_at is not None
        assert poison.last_error is not None
        assert poison.last_error.startswith("ValueError: 'finished' is not a valid RemoteStatus")
        assert poison.outcome is not None and poison.outcome.startswith("dead after 5 attempt(s)")
        assert _delivery(engine, "good").outcome == "applied 1 of 1 hints"
        assert _status(engine, stored.item_id) == ItemStatus.in_progress
        assert sync_engine.process_deliveries() == 0  # a dead delivery is never claimed again
    finally:
        context.close()
