"""A write is warned about what it made worse, never about what was already true."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.api.factories import API, create_goal, create_item, create_person, create_plan, past
from tests.conftest import Tenant


def patch(client: TestClient, tenant: Tenant, item: dict[str, Any], **body: Any) -> Any:
    response = client.patch(f"{API}/items/{item['id']}", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def codes(answer: dict[str, Any]) -> list[str]:
    return [warning["code"] for warning in answer["warnings"]]


def owner_and_goal(client: TestClient, tenant: Tenant, hours: float) -> tuple[Any, Any]:
    person = create_person(client, tenant, weekly_strategic_hours=hours)
    plan = create_plan(client, tenant, start_date=past(60))
    return person, create_goal(client, tenant, plan, person)


def test_an_unrelated_change_repeats_no_warning(client: TestClient, tenant: Tenant) -> None:
    person, goal = owner_and_goal(client, tenant, hours=8)
    old = create_item(
        client,
        tenant,
        goal,
        person,
        start_date=past(30),
        due_date=past(20),
        estimate_hours=16,
    )
    # Its weeks are past: overdue is worth saying, an overload of a past week is not.
    assert codes(old) == ["due_in_past"]
    assert codes(patch(client, tenant, old, title="Renamed")) == []
    assert codes(patch(client, tenant, old, status="in_progress")) == []
    assert codes(patch(client, tenant, old, status="done")) == []
    assert codes(patch(client, tenant, old, title="Renamed")) == []  # no change at all


def test_reopening_an_overdue_item_says_it_is_overdue(client: TestClient, tenant: Tenant) -> None:
    person, goal = owner_and_goal(client, tenant, hours=8)
    item = create_item(client, tenant, goal, person, due_date=past(3), status="done")
    assert codes(item) == []
    assert codes(patch(client, tenant, item, status="todo")) == ["due_in_past"]
    # Moved further into the past: worse, said again; moved nearer: not.
    assert codes(patch(client, tenant, item, due_date=past(5))) == ["due_in_past"]
    assert codes(patch(client, tenant, item, due_date=past(1))) == []


def test_only_a_change_that_adds_to_an_overload_warns(client: TestClient, tenant: Tenant) -> None:
    person, goal = owner_and_goal(client, tenant, hours=1)
    today = date.today().isoformat()
    item = create_item(
        client, tenant, goal, person, start_date=today, due_date=today, estimate_hours=3
    )
    assert codes(item) == ["over_capacity"]
    grown = patch(client, tenant, item, estimate_hours=4)
    assert codes(grown) == ["over_capacity"] and "over by 3 h" in grown["warnings"][0]["message"]
    assert codes(patch(client, tenant, item, estimate_hours=3.5)) == []  # eased, still over
    assert codes(patch(client, tenant, item, description="Notes")) == []


def test_strict_capacity_refuses_only_a_change_that_adds_to_an_overload(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    person, goal = owner_and_goal(client, tenant, hours=1)
    today = date.today().isoformat()
    item = create_item(
        client, tenant, goal, person, start_date=today, due_date=today, estimate_hours=3
    )
    settings.strict_capacity = True
    assert codes(patch(client, tenant, item, title="Still over, not more")) == []
    refused = client.patch(
        f"{API}/items/{item['id']}", json={"estimate_hours": 5}, headers=tenant.headers
    )
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert error["loc"] == ["body", "estimate_hours"]
    assert "PLANBRIDGE_STRICT_CAPACITY" in error["msg"]
