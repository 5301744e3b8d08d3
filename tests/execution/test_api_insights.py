"""The execution endpoints over HTTP on both backends, with status set through the core API."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.execution.api_helpers import iso_week, post, seed_plan


def test_status_set_through_the_api_moves_progress_and_health(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    second = post(
        client,
        tenant.headers,
        "/items",
        {
            "goal_id": seeded["goal"]["id"],
            "title": "Review",
            "owner_id": seeded["person"]["id"],
            "due_date": str(seeded["today"] + timedelta(days=10)),
            "estimate_hours": 4,
        },
    )
    response = client.patch(
        f"/api/v1/items/{second['id']}", json={"status": "done"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    progress = client.get(
        f"/api/v1/plans/{seeded['plan']['id']}/progress", headers=tenant.headers
    ).json()
    assert progress["percent"] == 50.0 and progress["change"] == 50.0  # nothing existed a week ago
    health = client.get(
        f"/api/v1/goals/{seeded['goal']['id']}/health", headers=tenant.headers
    ).json()
    assert health["health"] == "on_track" and health["velocity_hours_per_week"] == 1.0
    attention = client.get(
        f"/api/v1/plans/{seeded['plan']['id']}/attention", headers=tenant.headers
    ).json()
    assert [(entry["title"], entry["reasons"]) for entry in attention["items"]] == [
        ("Draft", ["no_tracker_link"])
    ]
    commitments = client.get(
        f"/api/v1/people/{seeded['person']['id']}/commitments", headers=tenant.headers
    ).json()
    assert [entry["title"] for entry in commitments["open"]] == ["Draft"]
    assert len(commitments["weeks"]) == 8


def test_item_over_capacity_warns_and_strict_mode_refuses(
    client: TestClient, tenant: Tenant, settings
) -> None:  # type: ignore[no-untyped-def]
    seeded = seed_plan(client, tenant.headers, hours=1)
    body = {
        "goal_id": seeded["goal"]["id"],
        "title": "Big",
        "owner_id": seeded["person"]["id"],
        "start_date": str(seeded["today"]),
        "due_date": str(seeded["today"]),
        "estimate_hours": 3,
    }
    created = post(client, tenant.headers, "/items", body)
    assert any(
        warning["code"] == "over_capacity" and iso_week(seeded["today"]) in warning["message"]
        for warning in created["warnings"]
    )
    settings.strict_capacity = True
    refused = client.post("/api/v1/items", json=body, headers=tenant.headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][-1] == "estimate_hours"
    capacity = client.get(
        f"/api/v1/plans/{seeded['plan']['id']}/capacity", headers=tenant.headers
    ).json()
    assert capacity["overloaded"]


def test_check_ins_replace_with_history_and_feed_the_review(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    week = iso_week(seeded["today"])
    body = {
        "owner_id": seeded["person"]["id"],
        "goal_id": seeded["goal"]["id"],
        "iso_week": week,
        "confidence": "at_risk",
        "needs_help": True,
        "note": "first",
    }
    first = post(client, tenant.headers, "/checkins", body)
    second = post(
        client,
        tenant.headers,
        "/checkins",
        {**body, "confidence": "on_track", "needs_help": False, "note": "second"},
    )
    current = client.get(
        "/api/v1/checkins", params={"goal_id": seeded["goal"]["id"]}, headers=tenant.headers
    ).json()
    assert [entry["id"] for entry in current["items"]] == [second["id"]]
    history = client.get(
        "/api/v1/checkins", params={"include_replaced": "true"}, headers=tenant.headers
    ).json()
    assert {entry["id"]: entry["replaced_by_id"] for entry in history["items"]} == {
        first["id"]: second["id"],
        second["id"]: None,
    }
    review = client.get(
        f"/api/v1/plans/{seeded['plan']['id']}/reviews/{week}", headers=tenant.headers
    )
    assert review.status_code == 200 and review.json()["check_ins"][0]["note"] == "second"
    markdown = client.get(
        f"/api/v1/plans/{seeded['plan']['id']}/reviews/{week}",
        headers={**tenant.headers, "Accept": "text/markdown"},
    )
    assert (
        markdown.headers["content-type"].startswith("text/markdown")
        and f"weekly review {week}" in markdown.text
    )
    assert (
        client.get(
            f"/api/v1/plans/{seeded['plan']['id']}/reviews/{week}?format=md", headers=tenant.headers
        ).text
        == markdown.text
    )


def test_bad_weeks_and_bad_check_ins_are_422_naming_the_field(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    for week in ("2027-W53", "2027-3", "W03"):
        response = client.get(
            f"/api/v1/plans/{seeded['plan']['id']}/reviews/{week}", headers=tenant.headers
        )
        assert response.status_code == 422 and response.json()["errors"][0]["loc"] == [
            "path",
            "iso_week",
        ]
    assert (
        client.get(
            f"/api/v1/plans/{seeded['plan']['id']}/reviews/2020-W53", headers=tenant.headers
        ).status_code
        == 200
    )
    response = client.post(
        "/api/v1/checkins",
        json={
            "owner_id": seeded["person"]["id"],
            "goal_id": seeded["goal"]["id"],
            "iso_week": "2027-W01",
            "confidence": "great",
        },
        headers=tenant.headers,
    )
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == [
        "body",
        "confidence",
    ]


def test_another_workspace_sees_none_of_it(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    week = iso_week(seeded["today"])
    post(
        client,
        tenant.headers,
        "/checkins",
        {
            "owner_id": seeded["person"]["id"],
            "goal_id": seeded["goal"]["id"],
            "iso_week": week,
            "confidence": "on_track",
        },
    )
    plan_id, goal_id, person_id = seeded["plan"]["id"], seeded["goal"]["id"], seeded["person"]["id"]
    for path in (
        f"/plans/{plan_id}/reviews/{week}",
        f"/plans/{plan_id}/progress",
        f"/plans/{plan_id}/health",
        f"/plans/{plan_id}/capacity",
        f"/plans/{plan_id}/attention",
        f"/goals/{goal_id}/progress",
        f"/goals/{goal_id}/health",
        f"/people/{person_id}/commitments",
    ):
        response = client.get(f"/api/v1{path}", headers=other_tenant.headers)
        assert response.status_code == 404, path
    assert client.get("/api/v1/checkins", headers=other_tenant.headers).json()["total"] == 0
    stolen = client.post(
        "/api/v1/checkins",
        json={
            "owner_id": person_id,
            "goal_id": goal_id,
            "iso_week": week,
            "confidence": "on_track",
        },
        headers=other_tenant.headers,
    )
    assert stolen.status_code == 422
