"""Outbound notifications over real HTTP: signed, retried with backoff, logged, and never
cross-tenant."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from app.db import utcnow
from app.services.notification_signing import SIGNATURE_HEADER, verify_signature
from app.services.notifications import deliver_due_notifications
from app.settings import Settings
from sync.goal_health import publish_goal_health
from tests.conftest import Tenant
from tests.execution.api_helpers import post, seed_plan
from tests.trackers.server import LoopbackServer


class Receiver:
    """A webhook receiver on loopback: records every request; answers 500 for the first
    ``failures``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.failures = 0
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{name}", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> JSONResponse:
        body = await request.body()
        with self._lock:
            self.requests.append((request.path_params["name"], dict(request.headers), body))
            if self.failures > 0:
                self.failures -= 1
                return JSONResponse({"error": "try later"}, status_code=500)
        return JSONResponse({"ok": True})

    def bodies(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(body) for path, _headers, body in self.requests if path == name]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    target = Receiver()
    with LoopbackServer(target.app) as server:
        yield target, server.url


def subscribe(client: TestClient, tenant: Tenant, url: str, **extra: Any) -> dict[str, Any]:
    return post(client, tenant.headers, "/subscriptions", {"url": url, **extra})


def move(client: TestClient, tenant: Tenant, item_id: str, status: str) -> None:
    response = client.patch(
        f"/api/v1/items/{item_id}", json={"status": status}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


def test_status_change_is_delivered_signed_with_slack_text(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings, receiver
) -> None:  # type: ignore[no-untyped-def]
    target, url = receiver
    seeded = seed_plan(client, tenant.headers)
    created = subscribe(
        client,
        tenant,
        f"{url}/a",
        event_types=["item.status_changed", "goal.health_changed"],
        secret="s" * 20,
    )
    assert created["secret"] == "s" * 20
    shown_later = client.get(
        f"/api/v1/subscriptions/{created['id']}", headers=tenant.headers
    ).json()
    assert shown_later["secret"] is None  # shown once, at creation
    move(client, tenant, seeded["item"]["id"], "in_progress")  # the goal stays on track
    assert publish_goal_health(engine, settings, utcnow()) == 0  # the worker's step
    assert deliver_due_notifications(engine, settings=settings) == 1
    events = {body["type"]: body for body in target.bodies("a")}
    status = events["item.status_changed"]
    assert status["data"]["to"] == "in_progress" and status["text"] == "Draft: todo -> in_progress"
    assert "goal.health_changed" not in events
    move(client, tenant, seeded["item"]["id"], "blocked")  # blocked: on track -> at risk
    assert publish_goal_health(engine, settings, utcnow()) == 1
    assert deliver_due_notifications(engine, settings=settings) == 2
    (health,) = [body for body in target.bodies("a") if body["type"] == "goal.health_changed"]
    assert (health["data"]["from"], health["data"]["to"]) == ("on_track", "at_risk")
    assert health["text"] == "Goal 'Ship' is now at risk: 1 item is blocked."
    for _path, headers, body in target.requests:
        assert verify_signature(headers[SIGNATURE_HEADER.lower()], body, "s" * 20)
        assert not verify_signature(headers[SIGNATURE_HEADER.lower()], body, "t" * 20)
        assert not verify_signature(headers[SIGNATURE_HEADER.lower()], body + b" ", "s" * 20)


def test_health_changed_fires_only_when_a_known_health_changes(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings, receiver
) -> None:  # type: ignore[no-untyped-def]
    """A goal created after the subscription has no known health: its first status change
    records it without an event (no ``"from": null``); the next change is reported from it."""
    target, url = receiver
    subscribe(client, tenant, f"{url}/h", event_types=["goal.health_changed"])
    seeded = seed_plan(client, tenant.headers)
    move(client, tenant, seeded["item"]["id"], "in_progress")
    assert publish_goal_health(engine, settings, utcnow()) == 0
    deliver_due_notifications(engine, settings=settings)
    assert target.bodies("h") == []
    move(client, tenant, seeded["item"]["id"], "blocked")
    assert publish_goal_health(engine, settings, utcnow()) == 1
    deliver_due_notifications(engine, settings=settings)
    (event,) = target.bodies("h")
    assert (event["data"]["from"], event["data"]["to"]) == ("on_track", "at_risk")


def test_failed_delivery_is_retried_with_backoff_and_logged(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings, receiver
) -> None:  # type: ignore[no-untyped-def]
    target, url = receiver
    target.failures = 2
    seeded = seed_plan(client, tenant.headers)
    subscription = subscribe(client, tenant, f"{url}/r", event_types=["item.status_changed"])
    move(client, tenant, seeded["item"]["id"], "done")
    start = utcnow() + timedelta(seconds=1)
    assert deliver_due_notifications(engine, start, settings=settings) == 1  # 500
    assert (
        deliver_due_notifications(engine, start + timedelta(seconds=29), settings=settings) == 0
    )  # not due yet
    assert (
        deliver_due_notifications(engine, start + timedelta(seconds=31), settings=settings) == 1
    )  # 500 again
    assert (
        deliver_due_notifications(engine, start + timedelta(seconds=31 + 59), settings=settings)
        == 0
    )
    assert (
        deliver_due_notifications(engine, start + timedelta(seconds=31 + 61), settings=settings)
        == 1
    )  # ok
    assert len(target.bodies("r")) == 3 and len({body["id"] for body in target.bodies("r")}) == 1
    log = client.get(
        f"/api/v1/subscriptions/{subscription['id']}/deliveries", headers=tenant.headers
    ).json()
    (entry,) = log["items"]
    assert (
        entry["state"],
        entry["attempts"],
        entry["last_status_code"],
        entry["next_attempt_at"],
    ) == ("delivered", 3, 200, None)


def test_events_never_reach_another_workspaces_subscription(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    engine: Engine,
    settings: Settings,
    receiver,
) -> None:  # type: ignore[no-untyped-def]
    target, url = receiver
    seeded = seed_plan(client, tenant.headers)
    subscribe(client, other_tenant, f"{url}/theirs", event_types=["item.status_changed"])
    subscribe(client, tenant, f"{url}/mine", event_types=["item.status_changed"])
    move(client, tenant, seeded["item"]["id"], "in_progress")
    deliver_due_notifications(engine, settings=settings)
    assert len(target.bodies("mine")) == 1 and target.bodies("theirs") == []
    assert client.get("/api/v1/subscriptions", headers=other_tenant.headers).json()["total"] == 1
    mine = client.get("/api/v1/subscriptions", headers=tenant.headers).json()["items"][0]
    assert (
        client.get(
            f"/api/v1/subscriptions/{mine['id']}/deliveries", headers=other_tenant.headers
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"/api/v1/subscriptions/{mine['id']}", headers=other_tenant.headers
        ).status_code
        == 404
    )


def test_rotated_secret_signs_with_both_during_grace(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings, receiver
) -> None:  # type: ignore[no-untyped-def]
    target, url = receiver
    seeded = seed_plan(client, tenant.headers)
    subscription = subscribe(
        client,
        tenant,
        f"{url}/rot",
        event_types=["item.status_changed"],
        secret="old-secret-0123456789",
    )
    rotated = client.post(
        f"/api/v1/subscriptions/{subscription['id']}/rotate-secret",
        json={"secret": "new-secret-0123456789", "grace_seconds": 3600},
        headers=tenant.headers,
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] == "new-secret-0123456789"
    move(client, tenant, seeded["item"]["id"], "in_progress")
    deliver_due_notifications(engine, settings=settings)
    _path, headers, body = target.requests[-1]
    assert headers[SIGNATURE_HEADER.lower()].count("v1=") == 2
    assert verify_signature(headers[SIGNATURE_HEADER.lower()], body, "old-secret-0123456789")
    assert verify_signature(headers[SIGNATURE_HEADER.lower()], body, "new-secret-0123456789")
    move(client, tenant, seeded["item"]["id"], "done")
    later = utcnow() + timedelta(hours=2)
    deliver_due_notifications(engine, later, settings=settings)
    _path, headers, body = target.requests[-1]
    assert headers[SIGNATURE_HEADER.lower()].count("v1=") == 1
    assert verify_signature(
        headers[SIGNATURE_HEADER.lower()], body, "new-secret-0123456789", now=later.timestamp()
    )


def test_subscription_url_and_fields_are_validated(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    settings.allow_private_trackers = False
    private = client.post(
        "/api/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook"}, headers=tenant.headers
    )
    assert private.status_code == 422 and private.json()["errors"][0]["loc"] == ["body", "url"]
    scheme = client.post(
        "/api/v1/subscriptions", json={"url": "ftp://example.com/x"}, headers=tenant.headers
    )
    assert scheme.status_code == 422 and scheme.json()["errors"][0]["loc"] == ["body", "url"]
    kinds = client.post(
        "/api/v1/subscriptions",
        json={"url": "https://example.com/x", "event_types": ["item.deleted"]},
        headers=tenant.headers,
    )
    assert kinds.status_code == 422 and kinds.json()["errors"][0]["loc"] == ["body", "event_types"]
    short = client.post(
        "/api/v1/subscriptions",
        json={"url": "https://example.com/x", "secret": "short"},
        headers=tenant.headers,
    )
    assert short.status_code == 422 and short.json()["errors"][0]["loc"] == ["body", "secret"]


@pytest.fixture
def loopback_only(settings: Settings) -> Settings:
    """Production's address policy, with the test receivers' 127.0.0.1 allowed."""
    settings.allow_private_trackers = False
    settings.allowed_tracker_networks = (ipaddress.ip_network("127.0.0.1/32"),)
    return settings


def _deliveries(client: TestClient, tenant: Tenant, subscription_id: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/v1/subscriptions/{subscription_id}/deliveries", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_notification_redirect_is_not_followed(
    client: TestClient, tenant: Tenant, engine: Engine, loopback_only: Settings, receiver
) -> None:  # type: ignore[no-untyped-def]
    target, url = receiver
    redirecting = Starlette(
        routes=[
            Route(
                "/{path:path}",
                lambda request: RedirectResponse(f"{url}/internal", status_code=307),
                methods=["POST"],
            )
        ]
    )
    seeded = seed_plan(client, tenant.headers)
    with LoopbackServer(redirecting) as server:
        created = subscribe(client, tenant, f"{server.url}/hook")
        move(client, tenant, seeded["item"]["id"], "in_progress")
        assert deliver_due_notifications(engine, settings=loopback_only) == 1
    (delivery,) = _deliveries(client, tenant, created["id"])
    assert delivery["state"] == "pending" and delivery["last_status_code"] is None
    assert f"answered 307 to {url}/internal" in delivery["last_error"]
    assert target.requests == []


def test_notification_to_a_name_rebound_to_a_private_address_is_refused(
    client: TestClient,
    tenant: Tenant,
    engine: Engine,
    loopback_only: Settings,
    receiver,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The URL was checked on an allowed address; at delivery the name answers another."""
    target, url = receiver
    port = url.rsplit(":", 1)[1]
    answers = iter(["127.0.0.1"])
    real = socket.getaddrinfo

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example":
            return real(host, *args, **kwargs)
        # 127.0.0.2 is outside the allowed 127.0.0.1/32, and still loopback should the guard fail.
        address = next(answers, "127.0.0.2")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    seeded = seed_plan(client, tenant.headers)
    created = subscribe(client, tenant, f"http://hooks.example:{port}/a")
    move(client, tenant, seeded["item"]["id"], "in_progress")
    assert deliver_due_notifications(engine, settings=loopback_only) == 1
    (delivery,) = _deliveries(client, tenant, created["id"])
    assert "hooks.example resolves to 127.0.0.2" in delivery["last_error"]
    assert target.requests == []
