from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ActionItem
from tests.api.factories import API, create_goal, create_item, create_person, create_plan
from tests.conftest import Tenant


def test_goal_is_created_read_listed_updated_and_deleted(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    owner = create_person(client, tenant)
    plan = create_plan(client, tenant, start_date="2027-01-01", end_date="2027-03-31")
    goal = create_goal(
        client, tenant, plan, owner, description="Why it matters", target_date="2027-03-15"
    )
    assert goal["warnings"] == [] and goal["revision"] == 1
    fetched = client.get(f"{API}/goals/{goal['id']}", headers=tenant.headers).json()
    assert fetched == {k: v for k, v in goal.items() if k != "warnings"}

    changed = client.patch(
        f"{API}/goals/{goal['id']}",
        json={"title": "Ship the beta to ten teams"},
        headers=tenant.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["title"] == "Ship the beta to ten teams"
    assert changed.json()["revision"] == 2

    create_item(client, tenant, goal, owner, due_date="2027-03-01")
    assert client.delete(f"{API}/goals/{goal['id']}", headers=tenant.headers).status_code == 204
    assert client.get(f"{API}/goals/{goal['id']}", headers=tenant.headers).status_code == 404
    with Session(engine) as session:
        assert session.exec(select(ActionItem)).all() == []


def test_goal_revision_moves_only_with_mirrored_fields(client: TestClient, tenant: Tenant) -> None:
    owner = create_person(client, tenant)
    goal = create_goal(client, tenant, create_plan(client, tenant), owner)
    same = client.patch(
        f"{API}/goals/{goal['id']}", json={"title": goal["title"]}, headers=tenant.headers
    )
    assert same.json()["revision"] == 1
    scoped = client.patch(
        f"{API}/goals/{goal['id']}", json={"scope": "OPS"}, headers=tenant.headers
    )
    assert scoped.json()["revision"] == 1
    for n, change in enumerate(
        [
            {"description": "d"},
            {"target_date": "2030-01-01"},
            {"owner_id": create_person(client, tenant)["id"]},
        ],
        start=2,
    ):
        response = client.patch(f"{API}/goals/{goal['id']}", json=change, headers=tenant.headers)
        assert response.json()["revision"] == n


def test_target_date_outside_the_plan_is_accepted_with_a_warning(
    client: TestClient, tenant: Tenant
) -> None:
    owner = create_person(client, tenant)
    plan = create_plan(client, tenant, start_date="2027-01-01", end_date="2027-03-31")
    goal = create_goal(client, tenant, plan, owner, target_date="2027-05-01")
    assert [w["code"] for w in goal["warnings"]] == ["target_outside_plan"]
    assert goal["warnings"][0]["field"] == "target_date"
    fixed = client.patch(
        f"{API}/goals/{goal['id']}", json={"target_date": "2027-02-01"}, headers=tenant.headers
    )
    assert fixed.json()["warnings"] == []


def test_goals_list_filters_by_plan_and_owner(client: TestClient, tenant: Tenant) -> None:
    ada, grace = (
        create_person(client, tenant, name="Ada"),
        create_person(client, tenant, name="Grace"),
    )
    q1, q2 = create_plan(client, tenant, name="Q1"), create_plan(client, tenant, name="Q2")
    a = create_goal(client, tenant, q1, ada, title="A")
    b = create_goal(client, tenant, q1, grace, title="B")
    c = create_goal(client, tenant, q2, ada, title="C")

    def titles(**params: str) -> list[str]:
        page = client.get(f"{API}/goals", params=params, headers=tenant.headers).json()
        return [g["title"] for g in page["items"]]

    assert titles() == ["A", "B", "C"]
    assert titles(plan_id=q1["id"]) == ["A", "B"]
    assert titles(owner_id=ada["id"]) == ["A", "C"]
    assert titles(plan_id=q1["id"], owner_id=grace["id"]) == ["B"]
    assert {a["id"], b["id"], c["id"]}


def test_goal_needs_an_existing_plan_and_owner(client: TestClient, tenant: Tenant) -> None:
    owner = create_person(client, tenant)
    plan = create_plan(client, tenant)
    cases = [
        ({"plan_id": plan["id"], "owner_id": owner["id"]}, ["body", "title"]),
        ({"title": "T", "owner_id": owner["id"]}, ["body", "plan_id"]),
        ({"title": "T", "plan_id": plan["id"]}, ["body", "owner_id"]),
        (
            {"title": "T", "plan_id": str(uuid.uuid4()), "owner_id": owner["id"]},
            ["body", "plan_id"],
        ),
        (
            {"title": "T", "plan_id": plan["id"], "owner_id": str(uuid.uuid4())},
            ["body", "owner_id"],
        ),
        (
            {
                "title": "T",
                "plan_id": plan["id"],
                "owner_id": owner["id"],
                "connection_id": str(uuid.uuid4()),
            },
            ["body", "connection_id"],
        ),
        ({"title": "T" * 301, "plan_id": plan["id"], "owner_id": owner["id"]}, ["body", "title"]),
    ]
    for body, loc in cases:
        response = client.post(f"{API}/goals", json=body, headers=tenant.headers)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["loc"] == loc, body
    assert client.get(f"{API}/goals", headers=tenant.headers).json()["total"] == 0
