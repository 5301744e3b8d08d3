"""Failures: flaky trackers converge without duplicates; auth pauses; rate limits back off; dead
links."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import Connection, ExternalLink
from sync.context import EngineContext
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed


def _make_everything_due(engine: Engine) -> None:
    """Skip the back-off waits (what time would do) so a test can converge quickly."""
    with Session(engine) as session:
        for link in session.exec(select(ExternalLink)):
            link.next_attempt_at = None
            session.add(link)
        for connection in session.exec(select(Connection)):
            connection.backoff_until = None
            session.add(connection)
        session.commit()


def test_twenty_percent_failures_converge_without_duplicates(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=30)
    seeded.tracker.inject_fault("fail_rate", rate=0.2, seed=7)
    for _ in range(40):
        run_until_idle(sync_engine)
        _make_everything_due(engine)
        with Session(engine) as session:
            pending = [
                link
                for link in session.exec(select(ExternalLink))
                if link.external_id is None or link.pushed_revision == 0
            ]
        if not pending:
            break
    assert seeded.tracker.count("faults:server_error") > 0
    assert seeded.tracker.count("faults:rate_limit") > 0
    counts = seeded.tracker.marker_counts()
    assert sorted(counts) == sorted(seeded.item_ids)
    assert set(counts.values()) == {1}


def test_lost_create_response_does_not_duplicate(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=3)
    seeded.tracker.inject_fault("lose_create_response", count=2)
    run_until_idle(sync_engine)
    _make_everything_due(engine)
    run_until_idle(sync_engine)
    assert seeded.tracker.count("calls:find_by_marker") == 2
    assert set(seeded.tracker.marker_counts().values()) == {1}
    assert len(seeded.tracker.marker_counts()) == 3


def test_uncertain_create_found_by_marker_is_adopted_before_the_lookup_delay(
    client: TestClient, tenant: Tenant, context: EngineContext, engine: Engine
) -> None:
    """A hit names the object whenever it shows; only a miss waits for the lookup delay (the
    Jira test in test_crash_safety_jira.py steps through a lagging index)."""
    seeded = seed(client, tenant, items=1, marker_lookup_delay_seconds=60)
    seeded.tracker.inject_fault("lose_create_response", count=1)
    sync_engine = SyncEngine(context)
    run_until_idle(sync_engine)
    assert seeded.tracker.count("calls:find_by_marker") == 0
    _make_everything_due(engine)

    run_until_idle(sync_engine)

    assert seeded.tracker.count("calls:find_by_marker") == 1
    assert seeded.tracker.object_count() == 1
    with Session(engine) as session:
        link = session.exec(select(ExternalLink)).one()
        assert link.external_id is not None and link.create_started_at is not None
        assert context.clock.now() - link.create_started_at < timedelta(seconds=60)


def test_auth_failure_pauses_the_connection_with_a_reason_until_resumed(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=2)
    seeded.tracker.inject_fault("auth", count=-1)
    sync_engine.step()
    response = client.get(f"/api/v1/connections/{seeded.connection_id}", headers=tenant.headers)
    assert response.json()["state"] == "paused"
    assert "refused the credentials" in response.json()["paused_reason"]
    calls = seeded.tracker.count("calls")
    sync_engine.step()
    assert seeded.tracker.count("calls") == calls  # a paused connection is left alone
    seeded.tracker.clear_faults()
    resumed = client.post(
        f"/api/v1/connections/{seeded.connection_id}/resume", headers=tenant.headers
    )
    assert resumed.json()["state"] == "active"
    _make_everything_due(engine)
    run_until_idle(sync_engine)
    assert seeded.tracker.object_count() == 2


def test_rate_limit_backs_off_the_whole_connection(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=3)
    seeded.tracker.inject_fault("rate_limit", count=1, retry_after=30)
    sync_engine.step()
    with Session(engine) as session:
        connection = session.get(Connection, uuid.UUID(seeded.connection_id))
        assert connection is not None and connection.backoff_until is not None
        links = session.exec(select(ExternalLink)).all()
        assert all(link.attempts == 0 for link in links)
    calls = seeded.tracker.count("calls")
    sync_engine.step()
    assert seeded.tracker.count("calls") == calls


def test_tracker_down_for_long_recovers_by_itself(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=4)
    seeded.tracker.inject_fault("down", count=-1)
    for _ in range(5):
        sync_engine.step()
        _make_everything_due(engine)
    assert seeded.tracker.object_count() == 0
    seeded.tracker.clear_faults()
    _make_everything_due(engine)
    run_until_idle(sync_engine)
    assert seeded.tracker.object_count() == 4
    with Session(engine) as session:
        assert all(
            link.attempts == 0 and not link.dead for link in session.exec(select(ExternalLink))
        )


def test_push_gives_up_after_max_attempts_and_can_be_retried(
    client: TestClient, tenant: Tenant, context: EngineContext, engine: Engine
) -> None:
    context.settings = context.settings.model_copy(update={"sync_max_attempts": 3})
    sync_engine = SyncEngine(context)
    seeded = seed(client, tenant, items=1)
    seeded.tracker.inject_fault("server_error", count=-1)
    for _ in range(4):
        sync_engine.step()
        _make_everything_due(engine)
    dead = client.get("/api/v1/sync/dead", headers=tenant.headers).json()
    assert dead["total"] == 1 and dead["items"][0]["attempts"] == 3
    assert "503" in dead["items"][0]["last_error"]
    health = client.get(
        f"/api/v1/connections/{seeded.connection_id}/health", headers=tenant.headers
    )
    assert health.json()["dead_pushes"] == 1
    seeded.tracker.clear_faults()
    retried = client.post(
        f"/api/v1/sync/dead/{dead['items'][0]['id']}/retry", headers=tenant.headers
    )
    assert retried.status_code == 200
    run_until_idle(sync_engine)
    assert seeded.tracker.object_count() == 1
    assert client.get("/api/v1/sync/dead", headers=tenant.headers).json()["total"] == 0
