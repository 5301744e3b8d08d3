"""The OpenAPI description says what the API does: strict types where a coercion would
surprise, the constraints the code enforces in the schema, every answer a route can give."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.sync.conftest import create_memory_connection

API = "/api/v1"


def _error_locations(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in response.json().get("errors", [])]


def test_a_boolean_grace_is_refused_instead_of_rotating_with_no_grace(
    client: TestClient, tenant: Tenant
) -> None:
    connection = create_memory_connection(client, tenant)
    url = f"{API}/connections/{connection['id']}/webhook-secret/rotate"
    refused = client.post(url, json={"grace_hours": False}, headers=tenant.headers)
    assert refused.status_code == 422
    assert _error_locations(refused) == [["body", "grace_hours"]]
    rotated = client.post(url, json={"grace_hours": 2}, headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text


def test_numbers_are_not_booleans_and_booleans_are_not_numbers(
    client: TestClient, tenant: Tenant
) -> None:
    person = client.post(
        f"{API}/people",
        json={"name": "Ada", "weekly_strategic_hours": True},
        headers=tenant.headers,
    )
    assert person.status_code == 422
    assert _error_locations(person) == [["body", "weekly_strategic_hours"]]
    plan = client.post(
        f"{API}/plans",
        json={
            "name": "Q1",
            "start_date": "2027-01-04",
            "end_date": "2027-03-28",
            "post_reviews_to_trackers": 1,
        },
        headers=tenant.headers,
    )
    assert plan.status_code == 422
    assert _error_locations(plan) == [["body", "post_reviews_to_trackers"]]


def test_focus_block_times_are_wall_clock_times_without_an_offset(
    client: TestClient, tenant: Tenant
) -> None:
    person = client.post(f"{API}/people", json={"name": "Ada"}, headers=tenant.headers).json()
    url = f"{API}/people/{person['id']}/focus-blocks"
    block = {"weekday": 1, "start": "09:00", "end": "11:30:00", "timezone": "Europe/Berlin"}
    created = client.post(url, json=block, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert created.json()["start"] == "09:00:00"
    with_offset = client.post(url, json={**block, "start": "09:00:00Z"}, headers=tenant.headers)
    assert with_offset.status_code == 422
    assert _error_locations(with_offset) == [["body", "start"]]
    no_zone = client.post(url, json={**block, "timezone": ""}, headers=tenant.headers)
    assert no_zone.status_code == 422
    assert _error_locations(no_zone) == [["body", "timezone"]]


def test_the_schema_states_the_rules_the_code_enforces(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    focus = components["FocusBlockCreate"]["properties"]
    assert "format" not in focus["start"]
    assert re.fullmatch(focus["start"]["pattern"], "09:00")
    assert not re.fullmatch(focus["start"]["pattern"], "09:00:00Z")
    assert "Europe/Berlin" in focus["timezone"]["enum"] and "" not in focus["timezone"]["enum"]
    assert '"format": "time"' not in json.dumps(schema)
    week = components["CheckInCreate"]["properties"]["iso_week"]["pattern"]
    assert re.fullmatch(week, "2027-W03")
    assert not any(re.fullmatch(week, text) for text in ("", "0", "2027-W00", "2027-3"))
    identities = components["PersonCreate"]["properties"]["identities"]
    assert identities["additionalProperties"] is False
    events = components["SubscriptionCreate"]["properties"]["event_types"]["items"]["enum"]
    assert "review.ready" in events
    hours = components["PersonCreate"]["properties"]["weekly_strategic_hours"]["anyOf"][0]
    assert hours["type"] == "number"
    name = components["PersonCreate"]["properties"]["name"]["pattern"]
    assert re.fullmatch(name, "Ada") and not re.fullmatch(name, "A\x00da")
    assert "memory" in components["ConnectionCreate"]["properties"]["kind"]["enum"]
    url = components["SubscriptionCreate"]["properties"]["url"]["pattern"]
    assert re.match(url, "https://hooks.example/x") and not re.match(url, "ftp://x")


def test_whole_numbers_refuse_text_and_booleans_but_take_integral_numbers(
    client: TestClient, tenant: Tenant
) -> None:
    person = client.post(f"{API}/people", json={"name": "Ada"}, headers=tenant.headers).json()
    url = f"{API}/people/{person['id']}/focus-blocks"
    block = {"start": "09:00", "end": "10:00", "timezone": "UTC"}
    for weekday in ("1", True):
        refused = client.post(url, json={**block, "weekday": weekday}, headers=tenant.headers)
        assert refused.status_code == 422
        assert _error_locations(refused) == [["body", "weekday"]]
    assert (
        client.post(url, json={**block, "weekday": 1.0}, headers=tenant.headers).status_code == 201
    )


def test_every_route_documents_its_busy_database_throttle_and_size_answers(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            label = f"{method.upper()} {path}"
            assert "503" in responses, label
            assert "Retry-After" in responses["503"]["headers"], label
            if "401" in responses:
                assert "429" in responses, label
            if "requestBody" in operation:
                assert "413" in responses, label
    handshake = schema["paths"]["/webhooks/{connection_id}"]["head"]["responses"]["200"]
    assert "content" not in handshake  # a HEAD answer has no body, so no content type


def test_a_url_that_cannot_be_parsed_is_a_422_naming_the_field_not_a_500(
    client: TestClient, tenant: Tenant
) -> None:
    subscription = client.post(
        f"{API}/subscriptions", json={"url": "http://`]YdInf"}, headers=tenant.headers
    )
    assert subscription.status_code == 422
    assert _error_locations(subscription) == [["body", "url"]]
    connection = client.post(
        f"{API}/connections",
        json={
            "kind": "memory",
            "name": "demo",
            "base_url": "memory://[unclosed",
            "scope": "TEAM",
            "credentials": {"token": "good"},
        },
        headers=tenant.headers,
    )
    assert connection.status_code == 422
    assert _error_locations(connection) == [["body", "base_url"]]
