"""The complete examples in docs/plan-documents.md apply cleanly and are what export writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.plan_documents.documents import API, applied, export, listed

DOCS = Path(__file__).parents[2] / "docs" / "plan-documents.md"
MEDIA_TYPES = {"yaml": "application/yaml", "markdown": "text/markdown", "csv": "text/csv"}
EXPORT_FORMATS = {"yaml": "yaml", "markdown": "md", "csv": "csv"}


def example(language: str) -> str:
    [block] = re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    return str(block)


@pytest.mark.parametrize("language", ["yaml", "markdown", "csv"])
def test_the_documented_example_applies_and_exports_back_unchanged(
    client: TestClient, tenant: Tenant, language: str
) -> None:
    if language == "csv":  # CSV declares no people
        for name, email in (("Ada Lovelace", "ada"), ("Grace Hopper", "grace")):
            body = {"name": name, "email": f"{email}@example.com", "weekly_strategic_hours": 10}
            assert client.post(f"{API}/people", json=body, headers=tenant.headers).is_success
    document = example(language)
    report = applied(client, tenant, document, media_type=MEDIA_TYPES[language])
    assert report["applied"] and not report["errors"]
    assert len(listed(client, tenant, "items")) == 4
    assert export(client, tenant, report["plan_id"], EXPORT_FORMATS[language]) == document
