"""POST /connections against base URLs that are not what they claim (#13.4, #13.5).

Private trackers are disallowed and only 127.0.0.1 is let through by
``PLANBRIDGE_ALLOWED_TRACKER_NETWORKS``, so the "tracker" on loopback is reachable. A redirect is
never followed (its target, another loopback port, counts requests), and any answer that is not the
tracker's API is a 422 naming ``base_url`` and what came back, never a 500 nor a saved connection.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.settings import Settings
from tests.conftest import Tenant
from tests.trackers.server import LoopbackServer

KINDS = ["jira", "github", "trello"]


class Tracker:
    """A loopback server answering every request with ``answer``; counts what it is asked."""

    def __init__(self, answer: Callable[[], Response]) -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._answer = answer
        self.server = LoopbackServer(
            Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])
        )

    async def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request.url.path)
        return self._answer()


@pytest.fixture
def private_refused(settings: Settings) -> Settings:
    """Production's policy, with the test trackers' loopback address allowed."""
    settings.allow_private_trackers = False
    settings.allowed_tracker_networks = (ipaddress.ip_network("127.0.0.1/32"),)
    return settings


@pytest.fixture
def target() -> Iterator[Tracker]:
    """Where redirects point: an internal service that must never be asked anything."""
    tracker = Tracker(lambda: JSONResponse({"secret": "internal"}))
    with tracker.server:
        yield tracker


def _body(kind: str, base_url: str) -> dict[str, Any]:
    bodies: dict[str, dict[str, Any]] = {
        "jira": {
            "scope": "PROJ",
            "credentials": {"api_token": "token"},
            "config": {"deployment": "cloud", "email": "bot@example.com"},
        },
        "github": {"scope": "acme/platform", "credentials": {"token": "ghp_token"}},
        "trello": {
            "scope": "5f0c" + "0" * 20,
            "credentials": {"api_key": "key", "api_token": "token"},
        },
    }
    return {"kind": kind, "name": f"{kind} check", "base_url": base_url, **bodies[kind]}


def _create(client: TestClient, tenant: Tenant, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/connections", json=body, headers=tenant.headers)


def _assert_refused_on_base_url(
    client: TestClient, tenant: Tenant, response: Any, *fragments: str
) -> None:
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["errors"]] == [["body", "base_url"]]
    for fragment in fragments:
        assert fragment in response.json()["detail"]
    listed = client.get("/api/v1/connections", headers=tenant.headers).json()
    assert listed["total"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_base_url_redirecting_elsewhere_is_a_422_and_the_redirect_is_not_followed(
    kind: str, client: TestClient, tenant: Tenant, private_refused: Settings, target: Tracker
) -> None:
    redirecting = Tracker(lambda: RedirectResponse(f"{target.server.url}/admin", status_code=302))
    with redirecting.server:
        response = _create(client, tenant, _body(kind, redirecting.server.url))
    _assert_refused_on_base_url(
        client,
        tenant,
        response,
        f"answered 302 to {target.server.url}/admin",
        "is this the API address?",
    )
    assert len(redirecting.requests) == 1
    assert target.requests == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "received"),
    [
        (lambda: HTMLResponse("<html><body>Sign in</body></html>"), "answered 200 text/html"),
        (lambda: JSONResponse({"hello": "world"}), "answered"),
        (lambda: JSONResponse(["not", "an", "object"]), "answered"),
    ],
    ids=["html", "json-without-the-fields", "json-list"],
)
def test_answer_that_is_not_the_tracker_api_is_a_422_naming_base_url(
    kind: str,
    answer: Callable[[], Response],
    received: str,
    client: TestClient,
    tenant: Tenant,
    private_refused: Settings,
) -> None:
    junk = Tracker(answer)
    with junk.server:
        response = _create(client, tenant, _body(kind, junk.server.url))
    _assert_refused_on_base_url(client, tenant, response, received)
    assert junk.requests, "the check asked the server"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "host",
    [
        "100.100.100.200",
        "[::ffff:169.254.169.254]",
        "[::a9fe:a9fe]",
        "[64:ff9b::a00:1]",
        "[2002:a00:1::1]",
        "[2001:0:4136:e378:8000:63bf:f5ff:fffe]",
    ],
)
def test_base_url_on_a_refused_address_is_a_422_naming_base_url(
    kind: str, host: str, client: TestClient, tenant: Tenant, private_refused: Settings
) -> None:
    response = _create(client, tenant, _body(kind, f"http://{host}:9"))
    _assert_refused_on_base_url(
        client, tenant, response, "PLANBRIDGE_ALLOWED_TRACKER_NETWORKS", "does not connect to it"
    )


def test_address_policy_in_a_connection_config_is_refused(
    client: TestClient, tenant: Tenant, private_refused: Settings
) -> None:
    body = _body("github", "http://127.0.0.1:9")
    body["config"] = {"address_policy": {"allow_private": True}}
    response = _create(client, tenant, body)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["errors"]] == [
        ["body", "config", "address_policy"]
    ]


def test_trello_board_with_malformed_lists_is_a_422_naming_base_url(
    client: TestClient, tenant: Tenant, private_refused: Settings
) -> None:
    junk = Tracker(lambda: JSONResponse({"id": "board", "name": "Board", "lists": ["To Do"]}))
    with junk.server:
        response = _create(client, tenant, _body("trello", junk.server.url))
    _assert_refused_on_base_url(client, tenant, response, "lists without ids and names")


def test_github_repository_with_malformed_permissions_is_a_422_naming_base_url(
    client: TestClient, tenant: Tenant, private_refused: Settings
) -> None:
    junk = Tracker(lambda: JSONResponse({"full_name": "acme/platform", "permissions": ["push"]}))
    with junk.server:
        response = _create(client, tenant, _body("github", junk.server.url))
    _assert_refused_on_base_url(client, tenant, response, "not shaped as a repository")
