"""Bad input never reaches a 500 and always answers an application/problem+json document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import Person
from tests.api.factories import API, create_tree
from tests.conftest import Tenant
from tests.trackers.server import LoopbackServer

LIMIT = 1_048_576  # the default PLANBRIDGE_MAX_BODY_BYTES


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": "A",}',
        b"not json",
        b"\xff\xfe",
        b"\x80",
        b"\x00\x00\x00\x00\x00",
        b"",
        b"[1, 2]",
        b'"just a string"',
        b"null",
    ],
)
def test_malformed_json_is_a_422(client: TestClient, tenant: Tenant, raw: bytes) -> None:
    headers = {**tenant.headers, "Content-Type": "application/json"}
    assert_problem(client.post(f"{API}/people", content=raw, headers=headers), 422)


def test_body_over_the_limit_is_413_by_content_length(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    body = b'{"name": "' + b"a" * LIMIT + b'"}'
    headers = {**tenant.headers, "Content-Type": "application/json"}
    problem = assert_problem(client.post(f"{API}/people", content=body, headers=headers), 413)
    assert str(LIMIT) in problem["detail"]
    with Session(engine) as session:
        assert session.exec(select(Person)).all() == []


def test_streamed_body_over_the_limit_is_413_without_content_length(
    client: TestClient, tenant: Tenant
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(200):
            yield b"a" * 10_000
        yield b'"}'

    headers = {**tenant.headers, "Content-Type": "application/json"}
    response = client.post(f"{API}/people", content=chunks(), headers=headers)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(response, 413)


def test_streamed_body_under_the_limit_is_accepted(client: TestClient, tenant: Tenant) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": '
        yield b'"Ada"}'

    headers = {**tenant.headers, "Content-Type": "application/json"}
    response = client.post(f"{API}/people", content=chunks(), headers=headers)
    assert response.status_code == 201 and response.json()["name"] == "Ada"


def test_limits_hold_over_real_http(app: FastAPI, tenant: Tenant) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b"a" * 65_536

    with LoopbackServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        streamed = http.post(f"{API}/people", content=chunks(), headers=tenant.headers)
        assert_problem(streamed, 413)
        declared = http.post(
            f"{API}/people",
            content=b"x" * (LIMIT + 1),
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        assert_problem(declared, 413)
        fine = http.post(f"{API}/people", json={"name": "Ada"}, headers=tenant.headers)
        assert fine.status_code == 201


@pytest.mark.parametrize(
    "path", ["people/not-a-uuid", "plans/123", "goals/%00", "items/zzz", "items/zzz/events"]
)
def test_invalid_uuid_in_the_path_is_a_422_on_the_path(
    client: TestClient, tenant: Tenant, path: str
) -> None:
    problem = assert_problem(client.get(f"{API}/{path}", headers=tenant.headers), 422)
    assert problem["errors"][0]["loc"][0] == "path"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 10**30},
        {"goal_id": "x"},
        {"owner_id": "1"},
        {"status": "finished"},
    ],
)
def test_bad_query_parameters_are_a_422_on_the_query(
    client: TestClient, tenant: Tenant, params: dict[str, Any]
) -> None:
    problem = assert_problem(client.get(f"{API}/items", params=params, headers=tenant.headers), 422)
    assert problem["errors"][0]["loc"][0] == "query"


def test_wrong_method_is_405_naming_the_allowed_ones(client: TestClient, tenant: Tenant) -> None:
    response = client.put(f"{API}/items", json={}, headers=tenant.headers)
    assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


def test_unknown_path_is_a_problem_404(client: TestClient, tenant: Tenant) -> None:
    assert_problem(client.get(f"{API}/nothing-here", headers=tenant.headers), 404)


def test_form_body_instead_of_json_is_a_422(client: TestClient, tenant: Tenant) -> None:
    response = client.post(f"{API}/people", data={"name": "Ada"}, headers=tenant.headers)
    assert_problem(response, 422)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "A", "weekly_strategic_hours": "8"},
        {"name": "A", "weekly_strategic_hours": False},
        {"name": ["A"]},
        {"name": {"first": "A"}},
        {"name": "A", "identities": ["github"]},
        {"name": "A", "identities": {"github": 42}},
        {"name": "x" * 201},
    ],
)
def test_wrong_types_and_sizes_are_422(
    client: TestClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    # Strict numbers: neither "8" nor false is read as hours (the schema says number).
    response = client.post(f"{API}/people", json=body, headers=tenant.headers)
    assert_problem(response, 422)


def test_infinite_numbers_are_422(client: TestClient, tenant: Tenant) -> None:
    headers = {**tenant.headers, "Content-Type": "application/json"}
    for raw in (
        b'{"name": "A", "weekly_strategic_hours": 1e400}',
        b'{"name": "A", "weekly_strategic_hours": NaN}',
    ):
        assert_problem(client.post(f"{API}/people", content=raw, headers=headers), 422)


def test_nul_characters_are_rejected_on_both_databases(client: TestClient, tenant: Tenant) -> None:
    tree = create_tree(client, tenant)
    for path, body in [
        ("people", {"name": "A\x00"}),
        (f"items/{tree['item']['id']}", {"description": "a\x00b"}),
        (f"goals/{tree['goal']['id']}", {"scope": "\x00"}),
    ]:
        method = "post" if path == "people" else "patch"
        assert_problem(
            client.request(method, f"{API}/{path}", json=body, headers=tenant.headers), 422
        )


def test_far_dates_are_stored_or_rejected_cleanly(client: TestClient, tenant: Tenant) -> None:
    for start, end in [("0001-01-01", "9999-12-31"), ("2027-01-01", "10000-01-01")]:
        response = client.post(
            f"{API}/plans",
            json={"name": "Long", "start_date": start, "end_date": end},
            headers=tenant.headers,
        )
        assert response.status_code in (201, 422)
        assert response.headers["content-type"] in ("application/json", "application/problem+json")
