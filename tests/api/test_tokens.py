from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from app.models import Scope
from tests.api.factories import API, create_person, create_tree, item_body
from tests.conftest import Tenant


def test_admin_creates_lists_and_revokes_tokens(client: TestClient, tenant: Tenant) -> None:
    created = client.post(
        f"{API}/tokens", json={"name": "ci", "scope": "read"}, headers=tenant.headers
    )
    assert created.status_code == 201
    token = created.json()
    assert token["token"].startswith(token["prefix"]) and token["scope"] == "read"

    listed = client.get(f"{API}/tokens", headers=tenant.headers)
    assert listed.status_code == 200
    assert token["token"] not in listed.text
    rows = {row["id"]: row for row in listed.json()["items"]}
    assert rows[token["id"]]["prefix"] == token["prefix"] and "token" not in rows[token["id"]]

    new = {"Authorization": f"Bearer {token['token']}"}
    assert client.get(f"{API}/people", headers=new).status_code == 200
    used = client.get(f"{API}/tokens", headers=tenant.headers).json()["items"]
    assert next(row for row in used if row["id"] == token["id"])["last_used_at"] is not None
    assert client.delete(f"{API}/tokens/{token['id']}", headers=tenant.headers).status_code == 204
    revoked = client.get(f"{API}/people", headers=new)
    assert revoked.status_code == 401
    assert revoked.headers["www-authenticate"] == "Bearer"
    assert client.delete(f"{API}/tokens/{token['id']}", headers=tenant.headers).status_code == 204
    assert client.delete(f"{API}/tokens/{uuid.uuid4()}", headers=tenant.headers).status_code == 404


@pytest.mark.parametrize("scope", [Scope.read, Scope.write])
def test_only_admin_tokens_manage_tokens(
    client: TestClient, make_tenant: object, scope: Scope
) -> None:
    weaker: Tenant = make_tenant("acme", scope)  # type: ignore[operator]
    for method in ("get", "post"):
        response = client.request(
            method, f"{API}/tokens", json={"name": "x"}, headers=weaker.headers
        )
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"


def test_token_scope_is_validated(client: TestClient, tenant: Tenant) -> None:
    response = client.post(f"{API}/tokens", json={"scope": "root"}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "scope"]


def test_read_token_reads_but_cannot_write(
    client: TestClient, tenant: Tenant, make_tenant: object
) -> None:
    tree = create_tree(client, tenant)
    reader: Tenant = make_tenant("acme", Scope.read)  # type: ignore[operator]
    reads = [
        "people",
        "plans",
        "goals",
        "items",
        f"items/{tree['item']['id']}",
        f"items/{tree['item']['id']}/events",
    ]
    for path in reads:
        assert client.get(f"{API}/{path}", headers=reader.headers).status_code == 200, path
    writes = [
        ("post", "people", {"name": "X"}),
        ("patch", f"people/{tree['person']['id']}", {"name": "X"}),
        ("delete", f"people/{tree['person']['id']}", None),
        ("post", "plans", {"name": "Q", "start_date": "2027-01-01", "end_date": "2027-02-01"}),
        ("patch", f"plans/{tree['plan']['id']}", {"name": "X"}),
        ("delete", f"plans/{tree['plan']['id']}", None),
        (
            "post",
            "goals",
            {"plan_id": tree["plan"]["id"], "title": "T", "owner_id": tree["person"]["id"]},
        ),
        ("patch", f"goals/{tree['goal']['id']}", {"title": "X"}),
        ("delete", f"goals/{tree['goal']['id']}", None),
        ("post", "items", item_body(tree["goal"], tree["person"])),
        ("patch", f"items/{tree['item']['id']}", {"status": "done"}),
        ("delete", f"items/{tree['item']['id']}", None),
    ]
    for method, path, body in writes:
        response = client.request(method, f"{API}/{path}", json=body, headers=reader.headers)
        assert response.status_code == 403, (method, path)
        assert "read" in response.json()["detail"]
    assert client.get(f"{API}/items", headers=tenant.headers).json()["items"][0]["status"] == "todo"


def test_write_token_can_write(client: TestClient, make_tenant: object) -> None:
    writer: Tenant = make_tenant("acme", Scope.write)  # type: ignore[operator]
    assert create_person(client, writer)["name"] == "Ada Lovelace"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic YTpi"},
    ],
)
def test_missing_or_unknown_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    for path in ("people", "plans", "goals", "items", "tokens"):
        response = client.get(f"{API}/{path}", headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.headers["content-type"] == "application/problem+json"
