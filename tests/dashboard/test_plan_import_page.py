"""The dashboard's plan import page: paste, preview the difference, apply with one button; and
the export link of each plan."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.dashboard.seed import csrf_from
from tests.plan_documents.documents import QUARTER, listed


def _submit(client: TestClient, **fields: Any) -> Any:
    page = client.get("/plan-import")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.text), "format": "yaml", **fields}
    return client.post("/plan-import", data=data)


def test_preview_shows_the_difference_and_changes_nothing_then_apply_applies_it(
    signed_in: TestClient, tenant: Tenant
) -> None:
    preview = _submit(signed_in, document=QUARTER, action="preview")
    assert preview.status_code == 200
    assert "Dry run: these changes would be made; nothing was changed." in preview.text
    assert "Write the onboarding guide" in preview.text and "line 23" in preview.text
    assert 'value="apply"' in preview.text
    assert listed(signed_in, tenant, "plans") == []
    applied = _submit(signed_in, document=QUARTER, action="apply")
    assert applied.status_code == 200 and "Applied." in applied.text
    [plan] = listed(signed_in, tenant, "plans")
    assert len(listed(signed_in, tenant, "items")) == 4
    plans_page = signed_in.get("/")
    assert f'href="/plans/{plan["id"]}/export?format=yaml"' in plans_page.text
    exported = signed_in.get(f"/plans/{plan['id']}/export?format=yaml")
    assert exported.status_code == 200 and exported.text.startswith("format: planbridge/plan@1")
    assert "attachment" in exported.headers["content-disposition"]


def test_a_broken_document_shows_its_errors_at_their_lines(
    signed_in: TestClient, tenant: Tenant
) -> None:
    broken = QUARTER.replace("owner: grace@example.com", "owenr: grace@example.com")
    response = _submit(signed_in, document=broken, action="apply")
    assert response.status_code == 422
    assert "line 30, column 9 ($.goals[0].items[1].owenr): Unknown key" in response.text
    assert listed(signed_in, tenant, "plans") == []


def test_a_form_without_the_csrf_token_is_refused(signed_in: TestClient, tenant: Tenant) -> None:
    response = signed_in.post("/plan-import", data={"document": QUARTER, "action": "apply"})
    assert response.status_code == 403
    assert listed(signed_in, tenant, "plans") == []
