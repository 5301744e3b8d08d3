"""Plan documents the tests apply, and small helpers to apply and export them through the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant

API = "/api/v1"

QUARTER = """\
format: planbridge/plan@1
plan:
  key: q1
  name: 2027 Q1
  start_date: 2027-01-04
  end_date: 2027-03-31
people:
  - key: ada
    name: Ada Lovelace
    email: ada@example.com
    weekly_strategic_hours: 10
  - key: grace
    name: Grace Hopper
    email: grace@example.com
    weekly_strategic_hours: 10
goals:
  - key: onboarding
    title: Faster onboarding
    owner: ada
    target_date: 2027-03-15
    description: New customers reach their first report within a day.
    items:
      - key: guide
        title: Write the onboarding guide
        owner: ada
        due_date: 2027-02-12
        estimate_hours: 6
      - key: video
        title: Record the welcome video
        owner: grace@example.com
        due_date: 2027-02-26
        estimate_hours: 3
        status: in_progress
  - title: Fewer support tickets
    owner: grace
    items:
      - title: Tag last quarter's tickets
        owner: grace
        due_date: 2027-01-29
        start_date: 2027-01-18
        estimate_hours: 4
        description: |
          Every ticket gets one of the ten causes.
          Start with the oldest.
      - title: Fix the top three causes
        owner: ada
        due_date: 2027-03-19
        estimate_hours: 12
"""


def apply(
    client: TestClient,
    tenant: Tenant,
    content: str | bytes,
    *,
    media_type: str = "application/yaml",
    **params: Any,
) -> Any:
    query = {name: str(value).lower() for name, value in params.items()}
    return client.post(
        f"{API}/plans/import",
        content=content,
        params=query,
        headers={**tenant.headers, "Content-Type": media_type},
    )


def applied(client: TestClient, tenant: Tenant, content: str, **params: Any) -> dict[str, Any]:
    response = apply(client, tenant, content, **params)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def export(client: TestClient, tenant: Tenant, plan_id: str, fmt: str = "yaml") -> str:
    response = client.get(
        f"{API}/plans/{plan_id}/export", params={"format": fmt}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.text


def listed(client: TestClient, tenant: Tenant, resource: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{resource}", params={"limit": 200}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["items"]
    return rows


def actions(report: dict[str, Any]) -> dict[str, int]:
    return {name: count for name, count in report["summary"].items() if count}
