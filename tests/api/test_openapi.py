from __future__ import annotations

from fastapi.testclient import TestClient


def test_docs_and_schema_are_served_without_a_token(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    for path in (
        "/api/v1/people",
        "/api/v1/plans",
        "/api/v1/goals",
        "/api/v1/items",
        "/api/v1/tokens",
    ):
        assert path in schema["paths"]


def test_error_responses_are_declared_as_problem_documents(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    core = {"/api/v1/people", "/api/v1/plans", "/api/v1/goals", "/api/v1/items", "/api/v1/tokens"}
    api_operations = [
        operation
        for path, operations in schema["paths"].items()
        if path in core
        or path.rpartition("/")[0] in core
        or path == "/api/v1/items/{item_id}/events"
        for operation in operations.values()
    ]
    assert len(api_operations) == 25  # with POST /plans/import (plan documents)
    for operation in api_operations:
        responses = operation["responses"]
        assert "401" in responses and "422" in responses, operation["operationId"]
        for status, response in responses.items():
            if status.startswith("4"):
                assert list(response["content"]) == ["application/problem+json"], operation[
                    "operationId"
                ]
    item_create = schema["paths"]["/api/v1/items"]["post"]
    required = schema["components"]["schemas"]["ActionItemCreate"]["required"]
    assert {"owner_id", "due_date", "estimate_hours"} <= set(required)
    assert item_create["responses"]["201"]["content"]["application/json"]["schema"][
        "$ref"
    ].endswith("ActionItemWritten")


def test_no_operation_documents_fastapi_validation_body(client: TestClient) -> None:
    """Every 422 is a Problem, also on routes that did not declare one themselves."""
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if status.startswith("4"):
                    assert "application/json" not in response.get("content", {}), (path, method)
                    assert "HTTPValidationError" not in str(response), (path, method)
