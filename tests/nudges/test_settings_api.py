"""The API of the nudge settings: a workspace's weekly cap and quiet hours, a plan's owner."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.factories import API, create_person
from tests.conftest import Tenant

PLAN = {"name": "2027 Q1", "start_date": "2027-01-04", "end_date": "2027-03-28"}


def test_the_weekly_cap_and_quiet_hours_default_and_change(
    client: TestClient, tenant: Tenant
) -> None:
    defaults = client.get(f"{API}/workspace", headers=tenant.headers).json()
    changed = client.patch(
        f"{API}/workspace",
        json={"nudge_weekly_cap": 3, "quiet_hours_start": "21:30", "quiet_hours_end": "07:00"},
        headers=tenant.headers,
    )

    assert (defaults["nudge_weekly_cap"], defaults["quiet_hours_start"]) == (5, "20:00:00")
    assert defaults["quiet_hours_end"] == "08:00:00"
    assert changed.status_code == 200
    assert changed.json()["nudge_weekly_cap"] == 3
    assert (changed.json()["quiet_hours_start"], changed.json()["quiet_hours_end"]) == (
        "21:30:00",
        "07:00:00",
    )


def test_bad_nudge_settings_are_422_naming_the_field(client: TestClient, tenant: Tenant) -> None:
    for body, field in (
        ({"nudge_weekly_cap": -1}, "nudge_weekly_cap"),
        ({"nudge_weekly_cap": None}, "nudge_weekly_cap"),
        ({"quiet_hours_start": "25:00"}, "quiet_hours_start"),
        ({"quiet_hours_end": None}, "quiet_hours_end"),
    ):
        refused = client.patch(f"{API}/workspace", json=body, headers=tenant.headers)
        assert refused.status_code == 422, body
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["loc"][-1] == field


def test_a_plan_owner_is_a_person_of_the_workspace(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    linus = create_person(client, tenant)
    stranger = create_person(client, other_tenant)

    created = client.post(
        f"{API}/plans", json={**PLAN, "owner_id": linus["id"]}, headers=tenant.headers
    )
    refused = client.patch(
        f"{API}/plans/{created.json()['id']}",
        json={"owner_id": stranger["id"]},
        headers=tenant.headers,
    )
    cleared = client.patch(
        f"{API}/plans/{created.json()['id']}", json={"owner_id": None}, headers=tenant.headers
    )

    assert created.status_code == 201
    assert created.json()["owner_id"] == linus["id"]
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][-1] == "owner_id"
    assert cleared.json()["owner_id"] is None
