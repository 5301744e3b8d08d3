"""The published JSON Schema of the plan document: the committed file is the generated one."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from app.services.plan_documents.document import (
    plan_document_json_schema,
    plan_document_json_schema_text,
)
from tests.conftest import Tenant
from tests.plan_documents.documents import API, QUARTER

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "plan-document.schema.json"


def test_the_committed_schema_is_the_one_the_models_generate() -> None:
    """If this fails: python -m app.services.plan_documents.document \
    > docs/plan-document.schema.json"""
    assert SCHEMA_FILE.read_text() == plan_document_json_schema_text()


def test_the_api_serves_the_schema(client: TestClient, tenant: Tenant) -> None:
    response = client.get(f"{API}/plan-documents/schema", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json() == json.loads(SCHEMA_FILE.read_text())


def test_the_schema_refuses_unknown_keys_and_describes_the_fields() -> None:
    schema = plan_document_json_schema()
    item = schema["$defs"]["ItemEntry"]
    assert item["additionalProperties"] is False
    assert set(item["required"]) == {"title", "owner", "due_date", "estimate_hours"}
    assert item["properties"]["due_date"]["format"] == "date"
    assert schema["$defs"]["GoalEntry"]["required"] == ["title", "owner"]


def test_the_example_document_is_valid_against_the_schema() -> None:
    import jsonschema  # schemathesis depends on it

    document = yaml.safe_load(QUARTER)
    plain = json.loads(json.dumps(document, default=str))  # dates as the text YAML wrote
    jsonschema.validate(plain, plan_document_json_schema())
