"""Export then apply: no change in the same workspace, the same plan in an empty one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.plan_documents.documents import (
    API,
    QUARTER,
    actions,
    applied,
    export,
    listed,
)

MEDIA_TYPES = {
    "yaml": "application/yaml",
    "json": "application/json",
    "md": "text/markdown",
    "csv": "text/csv",
}


def _with_a_dropped_and_a_done_item(client: TestClient, tenant: Tenant) -> str:
    plan_id: str = applied(client, tenant, QUARTER)["plan_id"]
    items = {row["title"]: row for row in listed(client, tenant, "items")}
    for title, status in (
        ("Fix the top three causes", "dropped"),
        ("Write the onboarding guide", "done"),
    ):
        response = client.patch(
            f"{API}/items/{items[title]['id']}", json={"status": status}, headers=tenant.headers
        )
        assert response.status_code == 200
    return plan_id


@pytest.mark.parametrize("fmt", ["yaml", "json", "md", "csv"])
def test_applying_an_export_to_the_same_workspace_reports_no_change(
    client: TestClient, tenant: Tenant, fmt: str
) -> None:
    plan_id = _with_a_dropped_and_a_done_item(client, tenant)
    document = export(client, tenant, plan_id, fmt)
    report = applied(client, tenant, document, media_type=MEDIA_TYPES[fmt])
    assert not report["changed"], report["changes"]
    assert report["message"] == "Nothing to change: the workspace already matches the document."


@pytest.mark.parametrize("fmt", ["yaml", "json", "md", "csv"])
def test_applying_an_export_to_an_empty_workspace_recreates_the_plan(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, fmt: str
) -> None:
    plan_id = _with_a_dropped_and_a_done_item(client, tenant)
    document = export(client, tenant, plan_id, fmt)
    if fmt == "csv":  # CSV declares no people: they must exist in the workspace
        for person in listed(client, tenant, "people"):
            body = {k: person[k] for k in ("name", "email", "weekly_strategic_hours")}
            assert client.post(f"{API}/people", json=body, headers=other_tenant.headers).is_success
    report = applied(client, other_tenant, document, media_type=MEDIA_TYPES[fmt])
    assert report["applied"] and set(actions(report)) <= {"create", "unchanged"}
    copy = export(client, other_tenant, report["plan_id"], fmt)
    assert copy == document

    def shape(tenant: Tenant) -> list[tuple[object, ...]]:
        return sorted(
            (i["title"], i["status"], i["due_date"], i["estimate_hours"], i["description"].rstrip())
            for i in listed(client, tenant, "items")
        )

    assert shape(other_tenant) == shape(tenant)


def test_the_yaml_export_reads_like_the_document_it_came_from(
    client: TestClient, tenant: Tenant
) -> None:
    plan_id = applied(client, tenant, QUARTER)["plan_id"]
    document = export(client, tenant, plan_id, "yaml")
    assert document.startswith("format: planbridge/plan@1\nplan:\n  key: q1\n  name: 2027 Q1\n")
    assert "    target_date: 2027-03-15\n" in document
    assert (
        "        description: |\n          Every ticket gets one of the ten causes.\n" in document
    )


def test_the_markdown_export_is_the_documented_outline(client: TestClient, tenant: Tenant) -> None:
    plan_id = _with_a_dropped_and_a_done_item(client, tenant)
    lines = export(client, tenant, plan_id, "md").splitlines()
    assert lines[0] == "# 2027 Q1 start:2027-01-04 end:2027-03-31 key:q1"
    assert "person: Ada Lovelace <ada@example.com> 10h key:ada" in lines
    assert "## Faster onboarding @ada target:2027-03-15 key:onboarding" in lines
    assert "- [x] Write the onboarding guide @ada due:2027-02-12 6h key:guide" in lines
    assert "- [ ] Fix the top three causes @ada due:2027-03-19 12h status:dropped" in lines


def test_export_of_another_workspaces_plan_is_not_found(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    plan_id = applied(client, tenant, QUARTER)["plan_id"]
    response = client.get(f"{API}/plans/{plan_id}/export", headers=other_tenant.headers)
    assert response.status_code == 404
