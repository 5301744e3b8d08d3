"""The cadence API: the workspace's day and hour, a plan's own, validation naming the field,
scopes and tenancy; and the list of reminders sent, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from app.models import Scope
from app.services.reminders import remind_due
from app.settings import Settings
from tests.api.factories import API, create_goal, create_item, create_person, create_plan
from tests.conftest import Tenant


def test_the_workspace_cadence_is_friday_15_until_changed_by_an_admin(
    client: TestClient, tenant: Tenant, make_tenant: object
) -> None:
    assert client.get(f"{API}/reminders/cadence", headers=tenant.headers).json() == {
        "weekday": "friday",
        "hour": 15,
    }
    changed = client.put(
        f"{API}/reminders/cadence", json={"weekday": "monday", "hour": 9}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    assert client.get(f"{API}/reminders/cadence", headers=tenant.headers).json() == {
        "weekday": "monday",
        "hour": 9,
    }
    writer = make_tenant("acme", Scope.write)  # type: ignore[operator]
    refused = client.put(
        f"{API}/reminders/cadence", json={"weekday": "monday", "hour": 9}, headers=writer.headers
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekday": "funday", "hour": 9}, "weekday"),
        ({"weekday": "monday", "hour": 24}, "hour"),
        ({"weekday": "monday", "hour": -1}, "hour"),
        ({"weekday": "monday", "hour": "9"}, "hour"),
        ({"weekday": "monday"}, "hour"),
        ({"weekday": "monday", "hour": 9, "minute": 30}, "minute"),
    ],
)
def test_a_bad_cadence_is_a_422_naming_the_field(
    client: TestClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    response = client.put(f"{API}/reminders/cadence", json=body, headers=tenant.headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["loc"] for error in response.json()["errors"]] == [["body", field]]


def test_a_plan_has_its_own_cadence_or_follows_the_workspaces(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    plan = create_plan(client, tenant)
    path = f"{API}/plans/{plan['id']}/reminder-cadence"
    assert client.get(path, headers=tenant.headers).json() == {
        "weekday": "friday",
        "hour": 15,
        "inherited": True,
    }
    own = client.put(path, json={"weekday": "wednesday", "hour": 10}, headers=tenant.headers)
    assert own.json() == {"weekday": "wednesday", "hour": 10, "inherited": False}
    client.put(
        f"{API}/reminders/cadence", json={"weekday": "thursday", "hour": 8}, headers=tenant.headers
    )
    assert client.get(path, headers=tenant.headers).json()["weekday"] == "wednesday"

    assert client.delete(path, headers=tenant.headers).json() == {
        "weekday": "thursday",
        "hour": 8,
        "inherited": True,
    }
    # Another workspace's plan is an unknown plan.
    assert client.get(path, headers=other_tenant.headers).status_code == 404
    elsewhere = client.put(
        path, json={"weekday": "monday", "hour": 9}, headers=other_tenant.headers
    )
    assert elsewhere.status_code == 404


def test_the_reminders_sent_are_listed_per_week_and_person(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings
) -> None:
    ada = create_person(client, tenant, name="Ada", email="ada@example.com")
    plan = create_plan(client, tenant)
    goal = create_goal(client, tenant, plan, ada)
    create_item(client, tenant, goal, ada)
    settings = settings.model_copy(
        update={"smtp_url": SecretStr("smtp://127.0.0.1:1?starttls=off"), "mail_from": "pb@x.org"}
    )
    now = datetime.now(UTC)

    assert len(remind_due(engine, settings, now, everyone=True)) == 1
    assert remind_due(engine, settings, now, everyone=True) == []

    listed = client.get(f"{API}/reminders", headers=tenant.headers).json()
    assert [(row["person_id"], row["kind"], row["messages"]) for row in listed["items"]] == [
        (ada["id"], "weekly", 1)
    ]
    week = listed["items"][0]["iso_week"]
    by_week = client.get(f"{API}/reminders", params={"iso_week": week}, headers=tenant.headers)
    assert by_week.json()["total"] == 1
    bad = client.get(f"{API}/reminders", params={"iso_week": "2027-W99"}, headers=tenant.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "iso_week"]
