"""A token of workspace B can neither see nor touch workspace A's objects, on any endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ActionItem, ApiToken, Goal, Person, Plan
from tests.api.factories import API, create_goal, create_person, create_plan, create_tree, item_body
from tests.conftest import Tenant


@pytest.fixture
def a_objects(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    tree = create_tree(client, tenant)
    token = client.post(f"{API}/tokens", json={"name": "ci"}, headers=tenant.headers)
    assert token.status_code == 201
    return {**tree, "token": token.json()}


# (method, path, body) for every endpoint that names one object in its path.
OBJECT_ENDPOINTS = [
    ("get", "people/{person}", None),
    ("patch", "people/{person}", {"name": "Mallory"}),
    ("delete", "people/{person}", None),
    ("get", "plans/{plan}", None),
    ("patch", "plans/{plan}", {"name": "Hijacked"}),
    ("delete", "plans/{plan}", None),
    ("get", "goals/{goal}", None),
    ("patch", "goals/{goal}", {"title": "Hijacked"}),
    ("delete", "goals/{goal}", None),
    ("get", "items/{item}", None),
    ("patch", "items/{item}", {"status": "dropped"}),
    ("delete", "items/{item}", None),
    ("get", "items/{item}/events", None),
    ("delete", "tokens/{token}", None),
]


def _path(template: str, objects: dict[str, Any]) -> str:
    return template.format(**{name: obj["id"] for name, obj in objects.items()})


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS)
def test_other_workspace_gets_404_and_changes_nothing(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    a_objects: dict[str, Any],
    engine: Engine,
    method: str,
    template: str,
    body: dict[str, Any] | None,
) -> None:
    path = f"{API}/{_path(template, a_objects)}"
    response = client.request(method, path, json=body, headers=other_tenant.headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert a_objects["person"]["name"] not in response.text
    with Session(engine) as session:
        assert session.get(Person, _uuid(a_objects["person"])).name == "Ada Lovelace"  # type: ignore[union-attr]
        assert session.get(Plan, _uuid(a_objects["plan"])).name == "Next quarter"  # type: ignore[union-attr]
        assert session.get(Goal, _uuid(a_objects["goal"])).title == "Ship the beta"  # type: ignore[union-attr]
        assert session.get(ActionItem, _uuid(a_objects["item"])).status == "todo"  # type: ignore[union-attr]
        assert session.get(ApiToken, _uuid(a_objects["token"])).revoked_at is None  # type: ignore[union-attr]
    # The owner still sees everything.
    assert client.get(
        f"{API}/{_path(template, a_objects)}", headers=tenant.headers
    ).status_code in (200, 405)


def _uuid(obj: dict[str, Any]) -> Any:
    import uuid

    return uuid.UUID(obj["id"])


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("people", {}),
        ("people", {"email": "ada@example.com"}),
        ("plans", {}),
        ("goals", {}),
        ("goals", {"plan_id": "{plan}"}),
        ("goals", {"owner_id": "{person}"}),
        ("items", {}),
        ("items", {"goal_id": "{goal}"}),
        ("items", {"plan_id": "{plan}"}),
        ("items", {"owner_id": "{person}"}),
        ("tokens", {}),
    ],
)
def test_other_workspace_lists_none_of_a_objects(
    client: TestClient,
    other_tenant: Tenant,
    a_objects: dict[str, Any],
    path: str,
    params: dict[str, str],
) -> None:
    query = {key: _path(value, a_objects) for key, value in params.items()}
    page = client.get(f"{API}/{path}", params=query, headers=other_tenant.headers).json()
    ids = {row["id"] for row in page["items"]}
    assert not ids & {obj["id"] for obj in a_objects.values()}
    if path != "tokens":  # B's own token is listed there
        assert page["total"] == 0 and page["items"] == []


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("goals", "plan_id"),
        ("goals", "owner_id"),
        ("items", "goal_id"),
        ("items", "owner_id"),
    ],
)
def test_references_to_another_workspace_are_422_not_links(
    client: TestClient,
    other_tenant: Tenant,
    a_objects: dict[str, Any],
    engine: Engine,
    path: str,
    field: str,
) -> None:
    b_owner = create_person(client, other_tenant, name="Bob")
    b_plan = create_plan(client, other_tenant)
    b_goal = create_goal(client, other_tenant, b_plan, b_owner)
    if path == "goals":
        body = {"plan_id": b_plan["id"], "title": "Mine", "owner_id": b_owner["id"]}
        a_value = {"plan_id": a_objects["plan"]["id"], "owner_id": a_objects["person"]["id"]}[field]
    else:
        body = item_body(b_goal, b_owner)
        a_value = {"goal_id": a_objects["goal"]["id"], "owner_id": a_objects["person"]["id"]}[field]
    response = client.post(
        f"{API}/{path}", json={**body, field: a_value}, headers=other_tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]

    # Also when changing an existing object of B.
    existing = client.post(f"{API}/{path}", json=body, headers=other_tenant.headers).json()
    changed = client.patch(
        f"{API}/{path}/{existing['id']}", json={field: a_value}, headers=other_tenant.headers
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["loc"] == ["body", field]
    with Session(engine) as session:
        model = Goal if path == "goals" else ActionItem
        rows = session.exec(
            select(model).where(model.workspace_id == other_tenant.workspace_id)
        ).all()
        assert all(str(getattr(row, field)) != a_value for row in rows)


@pytest.mark.parametrize("path", ["items", "goals", "plans"])
def test_connection_of_another_workspace_is_a_422(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, engine: Engine, path: str
) -> None:
    from app.models import Connection

    with Session(engine) as session:
        connection = Connection(
            workspace_id=tenant.workspace_id,
            name="A's GitHub",
            kind="github",
            base_url="https://api.github.com",
        )
        session.add(connection)
        session.commit()
        a_connection = str(connection.id)
    tree = create_tree(client, other_tenant)
    field = "default_connection_id" if path == "plans" else "connection_id"
    bodies = {
        "items": item_body(tree["goal"], tree["person"]),
        "goals": {"plan_id": tree["plan"]["id"], "title": "T", "owner_id": tree["person"]["id"]},
        "plans": {"name": "Q", "start_date": "2027-01-01", "end_date": "2027-02-01"},
    }
    created = client.post(
        f"{API}/{path}", json={**bodies[path], field: a_connection}, headers=other_tenant.headers
    )
    assert created.status_code == 422 and created.json()["errors"][0]["loc"] == ["body", field]
    existing = tree[{"items": "item", "goals": "goal", "plans": "plan"}[path]]
    changed = client.patch(
        f"{API}/{path}/{existing['id']}", json={field: a_connection}, headers=other_tenant.headers
    )
    assert changed.status_code == 422 and changed.json()["errors"][0]["loc"] == ["body", field]
