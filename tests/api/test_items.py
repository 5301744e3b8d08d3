from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.errors import InvalidField
from app.models import ActionItem, ItemEvent
from app.schemas.common import RuleWarning
from app.services import item_rules
from tests.api.factories import (
    API,
    create_goal,
    create_item,
    create_person,
    create_plan,
    future,
    item_body,
    past,
)
from tests.conftest import Tenant


@pytest.fixture
def tree(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    owner = create_person(client, tenant)
    plan = create_plan(client, tenant)
    goal = create_goal(client, tenant, plan, owner)
    return {"owner": owner, "plan": plan, "goal": goal}


def events_of(client: TestClient, tenant: Tenant, item_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/items/{item_id}/events", headers=tenant.headers)
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.json()["items"]
    return events


def test_item_is_created_with_its_history(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    item = create_item(client, tenant, tree["goal"], tree["owner"], start_date=future(2))
    assert item["status"] == "todo" and item["revision"] == 1 and item["warnings"] == []
    assert item["estimate_hours"] == 6 and item["done_at"] is None
    fetched = client.get(f"{API}/items/{item['id']}", headers=tenant.headers).json()
    assert fetched == {k: v for k, v in item.items() if k != "warnings"}
    [created] = events_of(client, tenant, item["id"])
    assert created["kind"] == "created" and created["actor"] == f"token:acme-{tenant.scope}"
    assert created["estimate_hours"] == 6 and created["status"] == "todo"


@pytest.mark.parametrize("missing", ["owner_id", "due_date", "estimate_hours", "goal_id", "title"])
def test_item_without_a_required_field_is_rejected_naming_it(
    client: TestClient, tenant: Tenant, tree: dict[str, Any], missing: str
) -> None:
    body = item_body(tree["goal"], tree["owner"])
    del body[missing]
    response = client.post(f"{API}/items", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["body", missing], "msg": "Field required", "type": "missing"}
    ]
    assert missing in response.json()["detail"]


def test_oversized_item_is_rejected_asking_to_split_it(
    client: TestClient, tenant: Tenant, tree: dict[str, Any], engine: Engine
) -> None:
    response = client.post(
        f"{API}/items",
        json=item_body(tree["goal"], tree["owner"], estimate_hours=40),
        headers=tenant.headers,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "estimate_hours"]
    assert "split it into steps of at most 16 hours" in problem["detail"]
    with Session(engine) as session:
        assert session.exec(select(ActionItem)).all() == []
        assert session.exec(select(ItemEvent)).all() == []


def test_item_at_the_limit_is_accepted(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    assert (
        create_item(client, tenant, tree["goal"], tree["owner"], estimate_hours=16)[
            "estimate_hours"
        ]
        == 16
    )


def test_limit_follows_the_setting(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(update={"max_item_hours": 4})  # type: ignore[attr-defined]
    response = client.post(
        f"{API}/items",
        json=item_body(tree["goal"], tree["owner"], estimate_hours=5),
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert "at most 4 hours" in response.json()["detail"]


@pytest.mark.parametrize("estimate", [0, -2, "lots", None, "NaN", "Infinity"])
def test_estimate_must_be_a_positive_number(
    client: TestClient, tenant: Tenant, tree: dict[str, Any], estimate: Any
) -> None:
    response = client.post(
        f"{API}/items",
        json=item_body(tree["goal"], tree["owner"], estimate_hours=estimate),
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "estimate_hours"]


def test_due_date_after_plan_end_or_in_the_past_is_accepted_with_warnings(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    late = create_item(client, tenant, tree["goal"], tree["owner"], due_date=future(200))
    assert [(w["code"], w["field"]) for w in late["warnings"]] == [
        ("due_after_plan_end", "due_date")
    ]
    overdue = create_item(client, tenant, tree["goal"], tree["owner"], due_date=past(3))
    assert [w["code"] for w in overdue["warnings"]] == ["due_in_past"]
    assert "in the past" in overdue["warnings"][0]["message"]
    done = client.patch(
        f"{API}/items/{overdue['id']}", json={"status": "done"}, headers=tenant.headers
    )
    assert done.json()["warnings"] == []


def test_start_after_due_is_rejected(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    body = item_body(tree["goal"], tree["owner"], start_date=future(20), due_date=future(10))
    response = client.post(f"{API}/items", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "start_date"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("status", "finished"),
        ("status", 3),
        ("due_date", "tomorrow"),
        ("owner_id", "abc"),
        ("title", ""),
        ("title", None),
        ("goal_id", None),
        ("scope", "x" * 301),
        ("unknown_field", 1),
    ],
)
def test_wrong_values_are_rejected_naming_the_field(
    client: TestClient, tenant: Tenant, tree: dict[str, Any], field: str, value: Any
) -> None:
    body = item_body(tree["goal"], tree["owner"], **{field: value})
    response = client.post(f"{API}/items", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]


@pytest.mark.parametrize("field", ["owner_id", "goal_id", "connection_id"])
def test_unknown_reference_is_a_422_on_its_field(
    client: TestClient, tenant: Tenant, tree: dict[str, Any], field: str
) -> None:
    body = item_body(tree["goal"], tree["owner"], **{field: str(uuid.uuid4())})
    response = client.post(f"{API}/items", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]


def test_planning_and_status_changes_are_recorded_and_bump_the_revision(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    item = create_item(client, tenant, tree["goal"], tree["owner"])
    changed = client.patch(
        f"{API}/items/{item['id']}",
        json={"estimate_hours": 8, "due_date": future(20), "title": item["title"]},
        headers=tenant.headers,
    ).json()
    assert changed["revision"] == 2  # one bump per request, unchanged title not counted
    started = client.patch(
        f"{API}/items/{item['id']}", json={"status": "in_progress"}, headers=tenant.headers
    )
    assert started.json()["revision"] == 3
    assert started.json()["last_activity_at"] > item["last_activity_at"]

    events = events_of(client, tenant, item["id"])
    kinds = [(e["kind"], e["field"]) for e in events]
    assert kinds[0] == ("created", None) and kinds[-1] == ("status", "status")
    # The two fields of one request share a timestamp; their order is not part of the contract.
    assert sorted(kinds[1:3]) == [("planning", "due_date"), ("planning", "estimate_hours")]
    estimate = next(e for e in events if e["field"] == "estimate_hours")
    assert (estimate["from_value"], estimate["to_value"], estimate["estimate_hours"]) == (
        "6",
        "8",
        8,
    )
    status = events[-1]
    assert (status["from_value"], status["to_value"], status["status"]) == (
        "todo",
        "in_progress",
        "in_progress",
    )
    assert all(e["actor"] == f"token:acme-{tenant.scope}" and e["source"] == "api" for e in events)


def test_noop_patch_changes_nothing(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    item = create_item(client, tenant, tree["goal"], tree["owner"])
    same = client.patch(
        f"{API}/items/{item['id']}", json={"estimate_hours": 6}, headers=tenant.headers
    ).json()
    assert same["revision"] == 1 and same["updated_at"] == item["updated_at"]
    assert len(events_of(client, tenant, item["id"])) == 1


def test_done_at_is_set_on_done_and_cleared_on_reopen(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    item = create_item(client, tenant, tree["goal"], tree["owner"])
    done = client.patch(
        f"{API}/items/{item['id']}", json={"status": "done"}, headers=tenant.headers
    ).json()
    assert done["done_at"] is not None
    reopened = client.patch(
        f"{API}/items/{item['id']}", json={"status": "todo"}, headers=tenant.headers
    ).json()
    assert reopened["done_at"] is None
    born_done = create_item(client, tenant, tree["goal"], tree["owner"], status="done")
    assert born_done["done_at"] is not None


def test_oversized_update_is_rejected_and_leaves_the_item_as_it_was(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    item = create_item(client, tenant, tree["goal"], tree["owner"])
    response = client.patch(
        f"{API}/items/{item['id']}",
        json={"estimate_hours": 30, "title": "Bigger"},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert "split it" in response.json()["detail"]
    now = client.get(f"{API}/items/{item['id']}", headers=tenant.headers).json()
    assert (now["title"], now["estimate_hours"], now["revision"]) == (item["title"], 6, 1)
    assert len(events_of(client, tenant, item["id"])) == 1


def test_patch_cannot_null_a_required_field(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    item = create_item(client, tenant, tree["goal"], tree["owner"])
    for field in ("owner_id", "due_date", "estimate_hours", "status"):
        response = client.patch(
            f"{API}/items/{item['id']}", json={field: None}, headers=tenant.headers
        )
        assert response.status_code == 422, field
        assert response.json()["errors"][0]["loc"] == ["body", field]


def test_item_can_move_to_another_goal_of_the_workspace(
    client: TestClient, tenant: Tenant, tree: dict[str, Any]
) -> None:
    item = create_item(client, tenant, tree["goal"], tree["owner"])
    other = create_goal(client, tenant, tree["plan"], tree["owner"], title="Other")
    moved = client.patch(
        f"{API}/items/{item['id']}", json={"goal_id": other["id"]}, headers=tenant.headers
    )
    assert moved.json()["goal_id"] == other["id"] and moved.json()["revision"] == 2
    bad = client.patch(
        f"{API}/items/{item['id']}", json={"goal_id": str(uuid.uuid4())}, headers=tenant.headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "goal_id"]


def test_items_list_filters(client: TestClient, tenant: Tenant, tree: dict[str, Any]) -> None:
    grace = create_person(client, tenant, name="Grace")
    other_plan = create_plan(client, tenant, name="Later")
    other_goal = create_goal(client, tenant, other_plan, grace)
    a = create_item(client, tenant, tree["goal"], tree["owner"], title="a")
    b = create_item(client, tenant, tree["goal"], grace, title="b", status="blocked")
    c = create_item(client, tenant, other_goal, grace, title="c", status="done")
    del a, b, c

    def titles(params: dict[str, Any]) -> list[str]:
        page = client.get(f"{API}/items", params=params, headers=tenant.headers).json()
        assert page["total"] == len(page["items"])
        return [i["title"] for i in page["items"]]

    assert titles({}) == ["a", "b", "c"]
    assert titles({"goal_id": tree["goal"]["id"]}) == ["a", "b"]
    assert titles({"plan_id": other_plan["id"]}) == ["c"]
    assert titles({"owner_id": grace["id"]}) == ["b", "c"]
    assert titles({"status": ["blocked", "done"]}) == ["b", "c"]
    assert titles({"status": "todo", "owner_id": grace["id"]}) == []
    bad = client.get(f"{API}/items", params={"status": "finished"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "status", 0]


def test_deleted_item_leaves_a_deleted_event(
    client: TestClient, tenant: Tenant, tree: dict[str, Any], engine: Engine
) -> None:
    item = create_item(client, tenant, tree["goal"], tree["owner"])
    assert client.delete(f"{API}/items/{item['id']}", headers=tenant.headers).status_code == 204
    assert client.get(f"{API}/items/{item['id']}", headers=tenant.headers).status_code == 404
    with Session(engine) as session:
        kinds = sorted((e.kind, e.data["item_id"]) for e in session.exec(select(ItemEvent)).all())
    assert kinds == [("created", item["id"]), ("deleted", item["id"])]


@pytest.fixture
def rejecting_checker() -> Iterator[None]:
    def reject_on_friday(session: Session, item: ActionItem, settings: Any) -> list[RuleWarning]:
        if item.title == "Friday deploy":
            raise InvalidField("title", "No deploys on Friday.")
        return [RuleWarning(code="custom", message="Checked by a plug-in.")]

    item_rules.register_item_checker(reject_on_friday)
    yield
    item_rules.ITEM_CHECKERS.remove(reject_on_friday)


@pytest.mark.usefixtures("rejecting_checker")
def test_registered_checkers_can_warn_or_reject_without_a_half_written_item(
    client: TestClient, tenant: Tenant, tree: dict[str, Any], engine: Engine
) -> None:
    fine = create_item(client, tenant, tree["goal"], tree["owner"])
    assert [w["code"] for w in fine["warnings"]] == ["custom"]
    response = client.post(
        f"{API}/items",
        json=item_body(tree["goal"], tree["owner"], title="Friday deploy"),
        headers=tenant.headers,
    )
    assert response.status_code == 422 and response.json()["detail"] == "No deploys on Friday."
    with Session(engine) as session:
        assert [i.title for i in session.exec(select(ActionItem)).all()] == [fine["title"]]
        assert len(session.exec(select(ItemEvent)).all()) == 1
