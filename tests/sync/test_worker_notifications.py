"""The worker sends notifications: a status pulled from a tracker reaches a subscriber, signed, and
the weekly review is announced once per plan and week however often workers look."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.models import Connection
from app.services.notification_signing import SIGNATURE_HEADER, verify_signature
from app.settings import Settings
from sync.engine import SyncEngine
from sync.worker import Worker
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed
from tests.trackers.server import LoopbackServer

SECRET = "subscriber-secret-0123456789"


class Receiver:
    """A subscriber's endpoint on loopback that keeps every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hook", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> JSONResponse:
        body = await request.body()
        with self._lock:
            self.requests.append((dict(request.headers), body))
        return JSONResponse({"ok": True})

    def events(self, event_type: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        with self._lock:
            found = [(headers, json.loads(body)) for headers, body in self.requests]
        return [(headers, body) for headers, body in found if body["type"] == event_type]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    target = Receiver()
    with LoopbackServer(target.app) as server:
        yield target, f"{server.url}/hook"


def subscribe(client: TestClient, tenant: Tenant, url: str, event_types: list[str]) -> None:
    response = client.post(
        "/api/v1/subscriptions",
        json={"url": url, "event_types": event_types, "secret": SECRET},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text


def wait_for(condition: Any, seconds: float = 20.0) -> None:
    """Poll until ``condition()`` holds; the bound only keeps a broken build from hanging."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met while the worker ran")
        time.sleep(0.05)


def test_status_pulled_by_the_worker_is_delivered_signed_to_a_subscriber(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,
    engine: Engine,
    settings: Settings,
    receiver: tuple[Receiver, str],
) -> None:
    target, url = receiver
    seeded = seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    subscribe(client, tenant, url, ["item.status_changed"])
    stored = next(s for s in seeded.tracker.all_items() if s.item_id == seeded.item_ids[0])
    seeded.tracker.person_sets_status(str(stored.id), "done")
    # No webhook: the change is found by the worker's next pull, made due now.
    with Session(engine) as session:
        connection = session.get(Connection, uuid.UUID(seeded.connection_id))
        assert connection is not None
        connection.next_poll_at = None
        session.add(connection)
        session.commit()

    worker = Worker(engine, settings, threads=1, idle_seconds=0.05).start()
    try:
        wait_for(lambda: target.events("item.status_changed"))
    finally:
        worker.stop()

    [(headers, event)] = target.events("item.status_changed")
    assert event["data"]["item_id"] == seeded.item_ids[0]
    assert (event["data"]["from"], event["data"]["to"]) == ("todo", "done")
    assert event["data"]["source"] == "tracker"
    raw = next(body for _headers, body in target.requests if json.loads(body) == event)
    assert verify_signature(headers[SIGNATURE_HEADER.lower()], raw, SECRET)
    assert not verify_signature(headers[SIGNATURE_HEADER.lower()], raw, "another secret")


def test_weekly_review_is_announced_once_per_plan_and_week_across_workers(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,
    engine: Engine,
    settings: Settings,
    receiver: tuple[Receiver, str],
) -> None:
    target, url = receiver
    seeded = seed(client, tenant, items=1)
    started = (date.today() - timedelta(days=21)).isoformat()
    response = client.patch(
        f"/api/v1/plans/{seeded.plan_id}", json={"start_date": started}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    subscribe(client, tenant, url, ["review.ready"])

    other_worker = SyncEngine(sync_engine.context)
    assert sync_engine.run_outbound() == 1
    # A second worker, and the same one again: the review of that week is not enqueued again.
    assert other_worker.enqueue_reviews(sync_engine.context.clock.now()) == 0
    assert sync_engine.enqueue_reviews(sync_engine.context.clock.now()) == 0
    assert other_worker.run_outbound() == 0

    [(_headers, event)] = target.events("review.ready")
    assert event["data"]["plan_id"] == seeded.plan_id
    assert event["data"]["path"].endswith(event["data"]["iso_week"])


def test_goal_health_change_is_published_by_the_worker_loop_signed(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,
    receiver: tuple[Receiver, str],
) -> None:
    target, url = receiver
    seeded = seed(client, tenant, items=1)
    subscribe(client, tenant, url, ["goal.health_changed"])  # every goal's health known from now
    response = client.patch(
        f"/api/v1/items/{seeded.item_ids[0]}", json={"status": "blocked"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert sync_engine.run_outbound() == 1  # the worker compares, enqueues and sends

    [(headers, event)] = target.events("goal.health_changed")
    assert (event["data"]["from"], event["data"]["to"]) == ("on_track", "at_risk")
    assert event["text"] == "Goal 'Ship it' is now at risk: 1 item is blocked."
    raw = next(body for _headers, body in target.requests if json.loads(body) == event)
    assert verify_signature(headers[SIGNATURE_HEADER.lower()], raw, SECRET)
    assert sync_engine.run_outbound() == 0  # published once
