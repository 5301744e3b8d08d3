from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant


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


def _operations(schema: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        operation["operationId"]: (method, path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "operationId" in operation
    }


def test_creates_link_to_the_operations_on_what_they_created(
    client: TestClient, tenant: Tenant
) -> None:
    """Each link names an operation that exists and fills exactly its path parameters; following
    the link from a created person reaches that person."""
    schema = client.get("/openapi.json").json()
    operations = _operations(schema)
    linked = 0
    for path, methods in schema["paths"].items():
        for link in (
            methods.get("post", {}).get("responses", {}).get("201", {}).get("links", {}).values()
        ):
            _, target, _ = operations[link["operationId"]]
            assert set(link["parameters"]) == set(re.findall(r"\{([^}]+)\}", target)), target
            for name, source in link["parameters"].items():
                assert source == "$response.body#/id" or source == f"$request.path.{name}"
                assert (source == f"$request.path.{name}") == (f"{{{name}}}" in path)
            linked += 1
    assert linked >= 40  # people, plans, goals, items, tokens, subscriptions, connections, ...
    people = schema["paths"]["/api/v1/people"]["post"]["responses"]["201"]["links"]
    [to_person] = [
        link
        for link in people.values()
        if operations[link["operationId"]][:2] == ("get", "/api/v1/people/{person_id}")
    ]
    created = client.post("/api/v1/people", json={"name": "Ada"}, headers=tenant.headers).json()
    followed = client.get(f"/api/v1/people/{created['id']}", headers=tenant.headers)
    assert to_person["parameters"] == {"person_id": "$response.body#/id"}
    assert followed.status_code == 200 and followed.json()["name"] == "Ada"
    blocks = schema["paths"]["/api/v1/people/{person_id}/focus-blocks"]["post"]["responses"]
    replace = [
        link
        for link in blocks["201"]["links"].values()
        if operations[link["operationId"]][0] == "put"
    ]
    assert [link["parameters"] for link in replace] == [
        {"block_id": "$response.body#/id", "person_id": "$request.path.person_id"}
    ]
