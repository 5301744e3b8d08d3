"""A check-in of a week whose review is frozen cannot be corrected through the API, as on the
check-in page; a late first check-in is still taken (listed as late), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.schemas.weeks import IsoWeek
from app.services import checkins
from tests.conftest import Tenant
from tests.execution.api_helpers import post, seed_plan

# Monday 00:05 UTC: last week is over but not frozen yet; 00:15: frozen (FREEZE_AFTER is 10 min).
MONDAY = datetime.combine(IsoWeek.of(datetime.now(UTC).date()).monday, datetime.min.time(), UTC)


def body(seeded: dict, week: IsoWeek, confidence: str) -> dict:  # type: ignore[type-arg]
    return {
        "owner_id": seeded["person"]["id"],
        "goal_id": seeded["goal"]["id"],
        "iso_week": str(week),
        "confidence": confidence,
    }


def test_a_frozen_weeks_check_in_is_final_but_a_late_first_one_is_taken(
    client: TestClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_plan(client, tenant.headers)
    last_week = IsoWeek.of(MONDAY.date() - timedelta(days=1))
    monkeypatch.setattr(checkins, "utcnow", lambda: MONDAY + timedelta(minutes=5))
    post(client, tenant.headers, "/checkins", body(seeded, last_week, "at_risk"))
    post(client, tenant.headers, "/checkins", body(seeded, last_week, "off_track"))  # corrected

    monkeypatch.setattr(checkins, "utcnow", lambda: MONDAY + timedelta(minutes=15))
    response = client.post(
        "/api/v1/checkins", json=body(seeded, last_week, "on_track"), headers=tenant.headers
    )

    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "iso_week"]
    assert f"The review of {last_week} is frozen" in error["msg"]
    listed = client.get(
        "/api/v1/checkins", params={"iso_week": str(last_week)}, headers=tenant.headers
    ).json()
    assert [entry["confidence"] for entry in listed["items"]] == ["off_track"]
    # Another person's first, late check-in for the frozen week is still recorded.
    other = post(client, tenant.headers, "/people", {"name": "Grace"})
    late = post(
        client,
        tenant.headers,
        "/checkins",
        {**body(seeded, last_week, "at_risk"), "owner_id": other["id"]},
    )
    assert late["iso_week"] == str(last_week)
