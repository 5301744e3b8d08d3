"""Connections API: checked before saving, secrets never returned, scopes enforced, 422s name
fields."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.errors import InvalidField
from app.models import Connection, Scope
from app.security.urls import check_base_url
from connectors.addresses import AddressPolicy
from tests.conftest import Tenant
from tests.sync.conftest import create_memory_connection


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "memory",
        "name": "demo",
        "base_url": "memory://api-test",
        "scope": "TEAM",
        "credentials": {"token": "good"},
    }
    body.update(overrides)
    return body


def _error_locations(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in response.json().get("errors", [])]


def test_create_returns_webhook_secret_once_and_never_credentials(
    client: TestClient, tenant: Tenant, engine
) -> None:
    created = create_memory_connection(client, tenant)
    assert created["webhook_secret"]
    assert created["credential_fields"] == ["token"]
    assert "good" not in str(created.get("credentials"))
    fetched = client.get(f"/api/v1/connections/{created['id']}", headers=tenant.headers).json()
    assert "webhook_secret" not in fetched
    assert "good" not in str(fetched)
    with Session(engine) as session:
        row = session.get(Connection, uuid.UUID(created["id"]))
        assert row is not None and "good" not in row.credentials_encrypted


def test_check_failure_is_a_422_naming_credentials(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/api/v1/connections", json=_body(credentials={"token": "wrong"}), headers=tenant.headers
    )
    assert response.status_code == 422
    assert _error_locations(response) == [["body", "credentials"]]
    assert "refused the credentials" in response.json()["detail"]


def test_unknown_kind_and_bad_config_name_the_field(client: TestClient, tenant: Tenant) -> None:
    unknown = client.post("/api/v1/connections", json=_body(kind="gitlab"), headers=tenant.headers)
    assert unknown.status_code == 422 and _error_locations(unknown) == [["body", "kind"]]
    bad = client.post(
        "/api/v1/connections",
        json=_body(config={"marker_lookup_delay_seconds": -1}),
        headers=tenant.headers,
    )
    assert bad.status_code == 422
    assert _error_locations(bad) == [["body", "config", "marker_lookup_delay_seconds"]]
    extra = client.post(
        "/api/v1/connections", json=_body(config={"typo": 1}), headers=tenant.headers
    )
    assert extra.status_code == 422 and _error_locations(extra) == [["body", "config", "typo"]]


def test_private_base_url_is_refused_unless_allowed() -> None:
    for url in (
        "http://127.0.0.1:8080",
        "http://10.1.2.3",
        "http://169.254.169.254",
        "http://[::1]/",
    ):
        try:
            check_base_url(url, policy=AddressPolicy())
        except InvalidField as error:
            assert error.field == ["base_url"]
        else:
            raise AssertionError(f"{url} was accepted")
    allowed = AddressPolicy(allow_private=True)
    assert check_base_url("http://127.0.0.1:8080/", policy=allowed) == "http://127.0.0.1:8080"


def test_read_token_lists_but_cannot_create(
    client: TestClient, tenant: Tenant, make_tenant: Any
) -> None:
    create_memory_connection(client, tenant)
    reader = make_tenant("acme", Scope.read)
    listed = client.get("/api/v1/connections", headers=reader.headers)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert (
        client.post("/api/v1/connections", json=_body(), headers=reader.headers).status_code == 403
    )


def test_other_workspace_cannot_see_the_connection(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = create_memory_connection(client, tenant)
    response = client.get(f"/api/v1/connections/{created['id']}", headers=other_tenant.headers)
    assert response.status_code == 404
    webhook = client.post(
        f"/api/v1/connections/{created['id']}/resync", headers=other_tenant.headers
    )
    assert webhook.status_code == 404


def test_update_rechecks_new_credentials_and_delete_forgets(
    client: TestClient, tenant: Tenant
) -> None:
    created = create_memory_connection(client, tenant)
    url = f"/api/v1/connections/{created['id']}"
    refused = client.patch(url, json={"credentials": {"token": "bad"}}, headers=tenant.headers)
    assert refused.status_code == 422 and _error_locations(refused) == [["body", "credentials"]]
    renamed = client.patch(
        url, json={"name": "renamed", "poll_interval_seconds": 60}, headers=tenant.headers
    )
    assert renamed.status_code == 200 and renamed.json()["poll_interval_seconds"] == 60
    too_fast = client.patch(url, json={"poll_interval_seconds": 1}, headers=tenant.headers)
    assert too_fast.status_code == 422
    assert client.delete(url, headers=tenant.headers).status_code == 204
    assert client.get(url, headers=tenant.headers).status_code == 404


def test_register_webhook_needs_a_callback_and_resync_resets(
    client: TestClient, tenant: Tenant
) -> None:
    created = create_memory_connection(client, tenant)
    base = f"/api/v1/connections/{created['id']}"
    missing = client.post(f"{base}/webhook", headers=tenant.headers)
    assert missing.status_code == 422 and _error_locations(missing) == [["body", "callback_url"]]
    registered = client.post(
        f"{base}/webhook",
        json={"callback_url": "https://pb.example/webhooks/x"},
        headers=tenant.headers,
    )
    assert registered.status_code == 200 and registered.json()["hook_id"].startswith("hook-")
    resync = client.post(f"{base}/resync", headers=tenant.headers)
    assert resync.status_code == 202 and resync.json()["status"] == "scheduled"
