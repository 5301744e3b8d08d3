from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ActionItem, Goal, ItemEvent
from tests.api.factories import API, create_plan, create_tree
from tests.conftest import Tenant


def test_plan_is_created_read_listed_updated_and_deleted(
    client: TestClient, tenant: Tenant
) -> None:
    plan = create_plan(
        client, tenant, name="2027 Q1", start_date="2027-01-01", end_date="2027-03-31"
    )
    assert (plan["name"], plan["start_date"], plan["end_date"]) == (
        "2027 Q1",
        "2027-01-01",
        "2027-03-31",
    )
    assert client.get(f"{API}/plans/{plan['id']}", headers=tenant.headers).json() == plan

    changed = client.patch(
        f"{API}/plans/{plan['id']}",
        json={"end_date": "2027-04-30", "default_scope": "OPS"},
        headers=tenant.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["end_date"] == "2027-04-30" and changed.json()["default_scope"] == "OPS"

    listed = client.get(f"{API}/plans", headers=tenant.headers).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"]]

    assert client.delete(f"{API}/plans/{plan['id']}", headers=tenant.headers).status_code == 204
    assert client.get(f"{API}/plans/{plan['id']}", headers=tenant.headers).status_code == 404


def test_plan_ending_before_it_starts_is_rejected(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        f"{API}/plans",
        json={"name": "Backwards", "start_date": "2027-03-01", "end_date": "2027-01-01"},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "end_date"]

    plan = create_plan(client, tenant, start_date="2027-01-01", end_date="2027-03-31")
    moved = client.patch(
        f"{API}/plans/{plan['id']}", json={"start_date": "2027-06-01"}, headers=tenant.headers
    )
    assert moved.status_code == 422
    assert (
        client.get(f"{API}/plans/{plan['id']}", headers=tenant.headers).json()["start_date"]
        == "2027-01-01"
    )


def test_plan_fields_are_validated(client: TestClient, tenant: Tenant) -> None:
    cases = [
        ({"start_date": "2027-01-01", "end_date": "2027-02-01"}, ["body", "name"]),
        ({"name": "Q", "start_date": "January", "end_date": "2027-02-01"}, ["body", "start_date"]),
        (
            {"name": "Q", "start_date": "2027-02-30", "end_date": "2027-03-01"},
            ["body", "start_date"],
        ),
        ({"name": "Q", "start_date": "2027-01-01"}, ["body", "end_date"]),
        ({"name": 7, "start_date": "2027-01-01", "end_date": "2027-02-01"}, ["body", "name"]),
        (
            {
                "name": "Q",
                "start_date": "2027-01-01",
                "end_date": "2027-02-01",
                "default_connection_id": "not-a-uuid",
            },
            ["body", "default_connection_id"],
        ),
        (
            {
                "name": "Q",
                "start_date": "2027-01-01",
                "end_date": "2027-02-01",
                "default_connection_id": str(uuid.uuid4()),
            },
            ["body", "default_connection_id"],
        ),
    ]
    for body, loc in cases:
        response = client.post(f"{API}/plans", json=body, headers=tenant.headers)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["loc"] == loc, body


def test_deleting_a_plan_deletes_its_goals_and_items_and_records_it(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    tree = create_tree(client, tenant)
    assert (
        client.delete(f"{API}/plans/{tree['plan']['id']}", headers=tenant.headers).status_code
        == 204
    )
    with Session(engine) as session:
        assert session.exec(select(Goal)).all() == []
        assert session.exec(select(ActionItem)).all() == []
        deleted = session.exec(select(ItemEvent).where(ItemEvent.kind == "deleted")).one()
        assert deleted.data["item_id"] == tree["item"]["id"]
        assert deleted.data["reason"] == "plan deleted"


def test_unknown_default_connection_on_update_is_a_422(client: TestClient, tenant: Tenant) -> None:
    plan = create_plan(client, tenant)
    response = client.patch(
        f"{API}/plans/{plan['id']}",
        json={"default_connection_id": str(uuid.uuid4())},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "default_connection_id"]


def test_posting_reviews_to_trackers_is_off_by_default_and_can_be_switched(
    client: TestClient, tenant: Tenant
) -> None:
    plan = create_plan(client, tenant)
    assert plan["post_reviews_to_trackers"] is False

    switched = client.patch(
        f"{API}/plans/{plan['id']}", json={"post_reviews_to_trackers": True}, headers=tenant.headers
    )
    assert switched.status_code == 200
    assert switched.json()["post_reviews_to_trackers"] is True

    refused = client.patch(
        f"{API}/plans/{plan['id']}", json={"post_reviews_to_trackers": None}, headers=tenant.headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "post_reviews_to_trackers"]
    reread = client.get(f"{API}/plans/{plan['id']}", headers=tenant.headers).json()
    assert reread["post_reviews_to_trackers"] is True
