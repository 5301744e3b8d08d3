"""The OpenAPI description says what the API does: strict types where a coercion would
surprise, the constraints the code enforces in the schema, every answer a route can give."""

from __future__ import annotations

import json
import re
import uuid
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


def test_other_methods_on_the_plan_import_are_405_naming_post(
    client: TestClient, tenant: Tenant
) -> None:
    """/plans/import is not /plans/{plan_id} with the id "import"."""
    for method in ("GET", "PUT", "PATCH", "DELETE", "OPTIONS"):
        answer = client.request(method, f"{API}/plans/import", json={}, headers=tenant.headers)
        assert answer.status_code == 405, (method, answer.text)
        assert answer.headers["allow"] == "POST", method
        assert answer.headers["content-type"] == "application/problem+json", method
    plan = client.post(
        f"{API}/plans",
        json={"name": "Q1", "start_date": "2027-01-04", "end_date": "2027-03-28"},
        headers=tenant.headers,
    ).json()
    renamed = client.patch(f"{API}/plans/{plan['id']}", json={"name": "Q2"}, headers=tenant.headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Q2"


def test_time_zones_are_listed_in_the_schema_and_others_refused(
    client: TestClient, tenant: Tenant
) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    person_zone = components["PersonCreate"]["properties"]["time_zone"]["anyOf"][0]
    workspace_zone = components["WorkspaceUpdate"]["properties"]["default_time_zone"]
    for zone in (person_zone, workspace_zone):
        assert "Europe/Berlin" in zone["enum"] and "Mars/Olympus" not in zone["enum"]
    person = client.post(
        f"{API}/people", json={"name": "Ada", "time_zone": "Mars/Olympus"}, headers=tenant.headers
    )
    assert person.status_code == 422
    assert _error_locations(person) == [["body", "time_zone"]]
    workspace = client.patch(
        f"{API}/workspace", json={"default_time_zone": "000"}, headers=tenant.headers
    )
    assert workspace.status_code == 422
    assert _error_locations(workspace) == [["body", "default_time_zone"]]
    berlin = client.post(
        f"{API}/people", json={"name": "Ada", "time_zone": "Europe/Berlin"}, headers=tenant.headers
    )
    assert berlin.status_code == 201 and berlin.json()["time_zone"] == "Europe/Berlin"


def test_channel_switches_take_booleans_only(client: TestClient, tenant: Tenant) -> None:
    person = client.post(f"{API}/people", json={"name": "Ada"}, headers=tenant.headers).json()
    url = f"{API}/people/{person['id']}/channels"
    for field in ("nudges_opted_out", "email_enabled"):
        refused = client.patch(url, json={field: 0}, headers=tenant.headers)
        assert refused.status_code == 422, refused.text
        assert _error_locations(refused) == [["body", field]]
    opted_out = client.patch(url, json={"nudges_opted_out": True}, headers=tenant.headers)
    assert opted_out.status_code == 200 and opted_out.json()["nudges_opted_out"] is True


def test_a_focus_block_ending_at_or_before_its_start_names_end(
    client: TestClient, tenant: Tenant
) -> None:
    person = client.post(f"{API}/people", json={"name": "Ada"}, headers=tenant.headers).json()
    block = {"weekday": 1, "start": "17:30", "end": "17:30", "timezone": "Europe/Berlin"}
    refused = client.post(
        f"{API}/people/{person['id']}/focus-blocks", json=block, headers=tenant.headers
    )
    assert refused.status_code == 422
    assert _error_locations(refused) == [["body", "end"]]


def test_url_patterns_refuse_what_the_address_check_refuses(
    client: TestClient, tenant: Tenant
) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    patterns = {
        "subscription": components["SubscriptionCreate"]["properties"]["url"]["pattern"],
        "connection": components["ConnectionCreate"]["properties"]["base_url"]["pattern"],
        "callback": components["WebhookRegister"]["properties"]["callback_url"]["anyOf"][0][
            "pattern"
        ],
    }
    refused = ["http://[x", "http://[x]", "http://ada@example.com", "http://x:65536", "http://x:y"]
    refused += ["http://x/\x00", "http://\uff03x"]
    for pattern in patterns.values():
        assert not any(re.search(pattern, url) for url in refused)
        assert all(re.search(pattern, url) for url in ("http://[::1]:8080/a", "https://a.b/?q#f"))
    for url in refused:
        answer = client.post(f"{API}/subscriptions", json={"url": url}, headers=tenant.headers)
        assert answer.status_code == 422, url
        assert _error_locations(answer) == [["body", "url"]], url


def test_a_connection_field_that_cannot_be_unset_is_not_nullable(
    client: TestClient, tenant: Tenant
) -> None:
    update = client.get("/openapi.json").json()["components"]["schemas"]["ConnectionUpdate"]
    for field in ("name", "base_url", "scope", "config", "poll_interval_seconds"):
        assert "anyOf" not in update["properties"][field], field
    connection = create_memory_connection(client, tenant)
    url = f"{API}/connections/{connection['id']}"
    refused = client.patch(url, json={"scope": None}, headers=tenant.headers)
    assert refused.status_code == 422
    assert _error_locations(refused) == [["body", "scope"]]


def test_rules_beyond_the_schema_are_declared_on_fields_the_operation_has(
    client: TestClient, tenant: Tenant
) -> None:
    """Each declared rule names a field of its operation, and a refusal by one names it."""
    schema = client.get("/openapi.json").json()
    declared = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            rules = operation.get("x-rules-beyond-schema")
            if rules is None:
                continue
            assert rules["status"] == 422 and "422" in operation["responses"], (method, path)
            parameters = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
            content = operation.get("requestBody", {}).get("content", {})
            body: dict[str, Any] = next(iter(content.values()), {})
            # A body that may be left out is anyOf [the body, null].
            choices = body.get("schema", {}).get("anyOf", [body.get("schema", {})])
            reference = next((c["$ref"] for c in choices if "$ref" in c), "")
            properties = schema["components"]["schemas"].get(reference.split("/")[-1], {})
            for rule in rules["rules"]:
                declared += 1
                part, *field = rule["loc"]
                if part == "body" and field:
                    assert field[0] in properties.get("properties", {}), (method, path, rule)
                elif part != "body":
                    assert (part, field[0]) in parameters, (method, path, rule)
    assert declared >= 20
    goal = client.post(
        f"{API}/goals",
        json={"plan_id": str(uuid.uuid4()), "title": "Ship", "owner_id": str(uuid.uuid4())},
        headers=tenant.headers,
    )
    assert goal.status_code == 422
    goal_rules = schema["paths"][f"{API}/goals"]["post"]["x-rules-beyond-schema"]["rules"]
    assert _error_locations(goal)[0] in [rule["loc"] for rule in goal_rules]


def test_required_text_that_is_only_whitespace_is_refused_and_the_pattern_says_so(
    client: TestClient, tenant: Tenant
) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    name = components["PersonCreate"]["properties"]["name"]["pattern"]
    title = components["GoalCreate"]["properties"]["title"]["pattern"]
    for pattern in (name, title):
        assert re.fullmatch(pattern, " Ada ") and re.fullmatch(pattern, "\x1f")
        assert not any(re.fullmatch(pattern, blank) for blank in (" ", "\t\n", "\u3000", "a\x00"))
    for blank in (" ", "\u3000\t"):
        refused = client.post(f"{API}/people", json={"name": blank}, headers=tenant.headers)
        assert refused.status_code == 422
        assert _error_locations(refused) == [["body", "name"]]
    kept = client.post(f"{API}/people", json={"name": "\x1f"}, headers=tenant.headers)
    assert kept.status_code == 201, kept.text


# Characters that one of the regex dialects around an e-mail pattern calls a space and another
# does not: ECMA-262 (the JSON Schema), pydantic's Rust engine, Python's str.strip.
SPACE_LIKE = ["\x85", "\ufeff", "\x1c", "\xa0", "\u2028", "\u3000", "\u200a"]


def test_an_address_the_schema_allows_is_one_the_api_takes(
    client: TestClient, tenant: Tenant
) -> None:
    """Schemathesis found "\\u0085@0" schema-valid (ECMA's \\s has no U+0085) and refused (Rust's
    has): the published pattern now names every such character, so both say no."""
    schema = client.get("/openapi.json").json()
    pattern = schema["components"]["schemas"]["PersonCreate"]["properties"]["email"]
    published = re.compile(next(p["pattern"] for p in pattern["anyOf"] if "pattern" in p))
    for space in SPACE_LIKE:
        for address in (f"{space}@0", f"a{space}b@example.com", f"ada@example.com{space}x"):
            assert not published.fullmatch(address), repr(address)
            answer = client.post(
                f"{API}/people", json={"name": "Ada", "email": address}, headers=tenant.headers
            )
            assert answer.status_code == 422, (repr(address), answer.text)
            assert _error_locations(answer) == [["body", "email"]]
    assert published.fullmatch("ada@example.com")
    taken = client.post(
        f"{API}/people", json={"name": "Ada", "email": "ada@example.com"}, headers=tenant.headers
    )
    assert taken.status_code == 201, taken.text


def test_bounds_and_patterns_hold_for_the_value_as_sent_and_then_it_is_trimmed(
    client: TestClient, tenant: Tenant
) -> None:
    """The schema states maxLength and patterns of the value as sent: a value it refuses only
    because of its surrounding spaces is refused too (the API used to trim first and take it)."""
    refused = [
        ("/people", {"name": " " + "a" * 200}, "name"),
        ("/people", {"name": "Ada", "email": " ada@example.com"}, "email"),
        ("/people", {"name": "Ada", "identities": {"github": "\n" + "a" * 200}}, "identities"),
        ("/tokens", {"name": " " + "t" * 200, "scope": "read"}, "name"),
        ("/subscriptions", {"url": " https://example.com/hook"}, "url"),
    ]
    for path, body, field in refused:
        answer = client.post(f"{API}{path}", json=body, headers=tenant.headers)
        assert answer.status_code == 422, (path, body, answer.text)
        assert [location[:2] for location in _error_locations(answer)] == [["body", field]]
    taken = client.post(
        f"{API}/people", json={"name": "\u3000 Ada Lovelace \t"}, headers=tenant.headers
    )
    assert taken.status_code == 201, taken.text
    assert taken.json()["name"] == "Ada Lovelace"
    longest = client.post(f"{API}/people", json={"name": "a" * 200}, headers=tenant.headers)
    assert longest.status_code == 201, longest.text
