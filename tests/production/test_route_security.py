"""Walks every operation of the app's OpenAPI: tokens and scopes enforced, body limits everywhere.

New routes are covered as they land: nothing here names a resource except the few routes that are
public on purpose, and a new public route fails the walk until it is added to that list knowingly.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.main import create_app
from app.models import Scope
from app.settings import Settings
from tests.conftest import Tenant

# Public on purpose: probes, metrics, API docs, tracker webhooks (the signature is the auth) and the
# calendar feed (its own feed token in the URL, for calendar apps that cannot send headers).
PUBLIC = re.compile(
    r"^(/healthz|/readyz|/metrics|/docs.*|/redoc|/openapi\.json|/webhooks/\{connection_id\}"
    r"|/api/v1/people/\{person_id\}/calendar\.ics)$"
)
SAMPLE_PATH_VALUES = {"iso_week": "2027-W01"}
BODY_METHODS = ("post", "put", "patch", "delete")


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    schema: dict[str, Any] = app.openapi()
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete", "head")
    ]


def _concrete(path: str) -> str:
    return re.sub(
        r"\{(\w+)\}", lambda match: SAMPLE_PATH_VALUES.get(match[1], str(uuid.uuid4())), path
    )


def test_the_walk_sees_the_api(app: FastAPI) -> None:
    api_operations = [op for op in _operations(app) if op[1].startswith("/api/v1/")]
    assert len(api_operations) >= 20


def test_every_route_but_the_public_ones_needs_a_token(app: FastAPI, client: TestClient) -> None:
    open_routes = []
    for method, path in _operations(app):
        if PUBLIC.match(path):
            continue
        response = client.request(method, _concrete(path), json={} if method != "GET" else None)
        if response.status_code != 401:
            open_routes.append(f"{method} {path} -> {response.status_code}")
        else:
            assert response.headers["content-type"].startswith("application/problem+json")
    assert not open_routes, "answered without a token:\n" + "\n".join(open_routes)


def test_a_read_token_cannot_change_anything(
    app: FastAPI, client: TestClient, make_tenant: Any
) -> None:
    reader: Tenant = make_tenant("acme", Scope.read)
    allowed = []
    for method, path in _operations(app):
        if method in ("GET", "HEAD") or not path.startswith("/api/v1/"):
            continue
        response = client.request(method, _concrete(path), json={}, headers=reader.headers)
        if response.status_code != 403:
            allowed.append(f"{method} {path} -> {response.status_code}")
    assert not allowed, "a read token was not refused with 403:\n" + "\n".join(allowed)


@pytest.fixture
def small_limit_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"max_body_bytes": 2048})
    with TestClient(create_app(limited, engine), raise_server_exceptions=False) as client:
        yield client


def test_every_route_refuses_a_body_over_the_limit_declared_or_streamed(
    app: FastAPI, small_limit_client: TestClient, tenant: Tenant
) -> None:
    oversized = b'{"name": "' + b"x" * 4096 + b'"}'
    headers = {**tenant.headers, "Content-Type": "application/json"}
    accepted = []
    for method, path in _operations(app):
        if method == "HEAD":
            continue
        url = _concrete(path)
        declared = small_limit_client.request(method, url, content=oversized, headers=headers)
        # A generator body goes out chunked, without Content-Length: the limit must still hold.
        streamed = small_limit_client.request(
            method, url, content=iter([oversized[:2000], oversized[2000:]]), headers=headers
        )
        for kind, response in (("declared", declared), ("streamed", streamed)):
            if response.status_code != 413:
                accepted.append(f"{method} {path} ({kind}) -> {response.status_code}")
    assert not accepted, "a body over the limit was not refused with 413:\n" + "\n".join(accepted)
