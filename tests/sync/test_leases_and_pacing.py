"""Leases hand each unit of work to one worker; pacing keeps writes inside the tracker's windows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.db import utcnow
from app.models import ConnectionWrite, ExternalLink
from connectors.base import RateWindow
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.pacing import WINDOW_MARGIN, SharedRequestPacer, reserve_write
from sync.routing import ensure_links
from sync.scheduler import claim
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed


def test_two_workers_claim_disjoint_links_and_a_dead_workers_lease_expires(
    client: TestClient, tenant: Tenant, engine
) -> None:
    seed(client, tenant, items=6)
    ensure_links(engine)
    now = utcnow()
    link = ExternalLink
    first = claim(
        engine, link, worker_id="a", now=now, lease=timedelta(seconds=60), conditions=[], limit=4
    )
    second = claim(
        engine, link, worker_id="b", now=now, lease=timedelta(seconds=60), conditions=[], limit=4
    )
    assert len(first) == 4 and len(second) == 2 and not set(first) & set(second)
    assert (
        claim(engine, link, worker_id="c", now=now, lease=timedelta(seconds=60), conditions=[])
        == []
    )
    later = now + timedelta(seconds=61)  # worker "a" died: its leases expire
    taken_over = claim(
        engine, link, worker_id="c", now=later, lease=timedelta(seconds=60), conditions=[]
    )
    assert len(taken_over) == 6


def test_reserve_write_stays_inside_every_window(
    client: TestClient, tenant: Tenant, engine
) -> None:
    seeded = seed(client, tenant, items=0)
    connection_id = uuid.UUID(seeded.connection_id)
    limits = (RateWindow(3, 10.0), RateWindow(5, 60.0))
    start = utcnow()
    waits = [reserve_write(engine, connection_id, limits, start) for _ in range(4)]
    # The slot opens one window (plus the skew margin) after the first write.
    assert waits[:3] == [0.0, 0.0, 0.0] and 9.9 < waits[3] <= 10.0 * (1 + WINDOW_MARGIN)
    later = start + timedelta(seconds=10.5)
    assert [reserve_write(engine, connection_id, limits, later) for _ in range(3)][:2] == [0.0, 0.0]
    assert reserve_write(engine, connection_id, limits, later) > 40  # the 60 s window is full
    with Session(engine) as session:
        assert len(session.exec(select(ConnectionWrite)).all()) == 5


def test_paced_push_yields_to_other_work_and_finishes(
    client: TestClient, tenant: Tenant, context: EngineContext
) -> None:
    seeded = seed(client, tenant, items=6, write_limits=[[4, 1.0]])
    sync_engine = SyncEngine(context)
    first = sync_engine.step()
    assert first.pushes["created"] == 4 and first.pushes["deferred"] >= 1
    assert context.pacing.held(context.clock.now()) == [uuid.UUID(seeded.connection_id)]
    totals = sync_engine.run_pass()
    assert seeded.tracker.object_count() == 6
    assert totals["created"] == 2
    assert seeded.tracker.count("writes") == 6


def test_resync_pushes_only_real_differences(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)
    writes = seeded.tracker.count("writes")
    response = client.post(
        f"/api/v1/connections/{seeded.connection_id}/resync", headers=tenant.headers
    )
    assert response.json()["links"] == 3
    run_until_idle(sync_engine)
    assert seeded.tracker.count("writes") == writes
    assert seeded.tracker.object_count() == 3


class FakeClock:
    """Engine time that only moves when someone sleeps (or the test moves it)."""

    def __init__(self) -> None:
        self.at = utcnow()
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)


def test_connections_sharing_a_token_share_one_request_budget(
    client: TestClient, tenant: Tenant, engine
) -> None:
    first = uuid.UUID(seed(client, tenant, items=0).connection_id)
    second = uuid.UUID(seed(client, tenant, items=0).connection_id)
    clock = FakeClock()
    limits = (RateWindow(3, 10.0),)
    pacers = [
        SharedRequestPacer(engine, clock, connection, "trello-token:shared", limits)
        for connection in (first, second)
    ]
    for pacer in (pacers[0], pacers[1], pacers[0]):
        pacers[0].settle(pacer.acquire())
    assert clock.slept == []
    pacers[1].acquire()  # the token's window is full, whichever connection asks
    assert clock.slept == [pytest.approx(10.0 * (1 + WINDOW_MARGIN))]
    with Session(engine) as session:
        rows = session.exec(select(ConnectionWrite)).all()
    assert {row.budget for row in rows} == {"trello-token:shared"}
    assert sorted(str(row.connection_id) for row in rows) == sorted(
        [str(first)] * 2 + [str(second)] * 2
    )


def test_a_slow_answer_counts_its_slot_from_the_answer(
    client: TestClient, tenant: Tenant, engine
) -> None:
    connection_id = uuid.UUID(seed(client, tenant, items=0).connection_id)
    clock = FakeClock()
    pacer = SharedRequestPacer(engine, clock, connection_id, "budget", (RateWindow(1, 10.0),))
    quick = pacer.acquire()
    clock.at += timedelta(seconds=0.1)  # answered within the margin: counted from the send
    pacer.settle(quick)
    pacer.settle(pacer.acquire())
    assert clock.slept == [pytest.approx(10.2 - 0.1)]
    slow = pacer.acquire()  # sent once the previous slot came back
    sent = clock.at
    clock.at += timedelta(seconds=3)  # the tracker counted it somewhere in these three seconds
    pacer.settle(slow)
    pacer.acquire()
    # One window after the answer, not after the send.
    assert clock.at - sent == pytest.approx(timedelta(seconds=13), abs=timedelta(milliseconds=1))


def test_a_worker_with_a_paced_push_waits_only_until_the_slot_opens(
    client: TestClient, tenant: Tenant, context: EngineContext
) -> None:
    sync_engine = SyncEngine(context)
    assert sync_engine.idle_wait(1.0) == 1.0  # nothing held: the usual idle wait
    connection_id = uuid.UUID(seed(client, tenant, items=0).connection_id)
    context.pacing.hold(connection_id, context.clock.now() + timedelta(seconds=0.3))
    assert 0.0 < sync_engine.idle_wait(1.0) <= 0.3
    context.pacing.hold(connection_id, context.clock.now() + timedelta(seconds=30))
    assert sync_engine.idle_wait(1.0) == 1.0  # a far slot: webhooks and pulls still get a step
