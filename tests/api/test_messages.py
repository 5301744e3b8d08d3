"""What a person reads in an error: the field, what is wrong with it, the form it should take."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.factories import API, create_tree
from tests.api.test_errors import assert_problem
from tests.conftest import Tenant


def test_null_on_a_field_that_cannot_be_null_says_it_is_required(
    client: TestClient, tenant: Tenant
) -> None:
    item = create_tree(client, tenant)["item"]
    response = client.patch(
        f"{API}/items/{item['id']}", json={"due_date": None}, headers=tenant.headers
    )
    problem = assert_problem(response, 422)
    (error,) = problem["errors"]
    assert error["loc"] == ["body", "due_date"]
    assert error["msg"] == "due_date is required and cannot be null."
    assert "due_date is required and cannot be null" in problem["detail"]


def test_a_date_in_another_format_names_the_form_yyyy_mm_dd(
    client: TestClient, tenant: Tenant
) -> None:
    item = create_tree(client, tenant)["item"]
    for wrong in ("12/01/2027", "2027-1-5", "tomorrow"):
        response = client.patch(
            f"{API}/items/{item['id']}", json={"due_date": wrong}, headers=tenant.headers
        )
        (error,) = assert_problem(response, 422)["errors"]
        assert error["loc"] == ["body", "due_date"]
        assert "due_date must be a date as YYYY-MM-DD" in error["msg"], error


def test_a_trailing_slash_answers_as_without_it(client: TestClient, tenant: Tenant) -> None:
    create_tree(client, tenant)
    without = client.get(f"{API}/items", headers=tenant.headers)
    with_slash = client.get(f"{API}/items/", headers=tenant.headers, follow_redirects=False)
    assert with_slash.status_code == 200
    assert with_slash.json() == without.json()
    created = client.post(
        f"{API}/people/", json={"name": "Grace"}, headers=tenant.headers, follow_redirects=False
    )
    assert created.status_code == 201 and created.json()["name"] == "Grace"
    assert_problem(client.get(f"{API}/nothing-here/", headers=tenant.headers), 404)


def test_capacity_range_error_names_the_query_parameter(client: TestClient, tenant: Tenant) -> None:
    plan = create_tree(client, tenant)["plan"]
    response = client.get(
        f"{API}/plans/{plan['id']}/capacity",
        params={"from_week": "2027-W10", "to_week": "2027-W05"},
        headers=tenant.headers,
    )
    (error,) = assert_problem(response, 422)["errors"]
    assert error["loc"] == ["query", "to_week"]


def test_a_capacity_range_of_centuries_is_refused_naming_to_week(
    client: TestClient, tenant: Tenant
) -> None:
    """Half a million weeks took seconds of CPU per request; five years is the longest view."""
    plan = create_tree(client, tenant)["plan"]
    response = client.get(
        f"{API}/plans/{plan['id']}/capacity",
        params={"from_week": "0001-W01", "to_week": "9998-W51"},
        headers=tenant.headers,
    )
    (error,) = assert_problem(response, 422)["errors"]
    assert error["loc"] == ["query", "to_week"] and "261 weeks" in error["msg"]
    five_years = client.get(
        f"{API}/plans/{plan['id']}/capacity",
        params={"from_week": "2027-W01", "to_week": "2031-W52"},
        headers=tenant.headers,
    )
    assert five_years.status_code == 200 and len(five_years.json()["weeks"]) == 260


def test_openapi_documents_confidence_values_and_the_secret_length(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    confidence = schemas["CheckInCreate"]["properties"]["confidence"]["description"]
    assert all(value in confidence for value in ("on_track", "at_risk", "off_track"))
    for model in ("SubscriptionCreate", "SecretRotation"):
        secret = schemas[model]["properties"]["secret"]["description"]
        assert "16 to 200 characters" in secret
