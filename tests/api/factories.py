"""Plain functions that create objects through the API and return their JSON."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant

API = "/api/v1"


def future(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def past(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def _created(client: TestClient, tenant: Tenant, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def create_person(client: TestClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "weekly_strategic_hours": 8,
        **fields,
    }
    return _created(client, tenant, "people", body)


def create_plan(client: TestClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"name": "Next quarter", "start_date": past(10), "end_date": future(80), **fields}
    return _created(client, tenant, "plans", body)


def create_goal(
    client: TestClient, tenant: Tenant, plan: dict[str, Any], owner: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body = {"plan_id": plan["id"], "title": "Ship the beta", "owner_id": owner["id"], **fields}
    return _created(client, tenant, "goals", body)


def item_body(goal: dict[str, Any], owner: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "goal_id": goal["id"],
        "title": "Write the onboarding guide",
        "owner_id": owner["id"],
        "due_date": future(14),
        "estimate_hours": 6,
        **fields,
    }


def create_item(
    client: TestClient, tenant: Tenant, goal: dict[str, Any], owner: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    return _created(client, tenant, "items", item_body(goal, owner, **fields))


def create_tree(client: TestClient, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """A person, a plan, a goal and an item of one workspace."""
    person = create_person(client, tenant)
    plan = create_plan(client, tenant)
    goal = create_goal(client, tenant, plan, person)
    item = create_item(client, tenant, goal, person)
    return {"person": person, "plan": plan, "goal": goal, "item": item}
