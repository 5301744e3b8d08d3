"""Dashboard fixtures: a browser-like TestClient that signs in through the sign-in form, and for
the tests in headless Chromium the browser (one per module) and planbridge served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import Tenant
from tests.dashboard.chromium import launch_chromium
from tests.dashboard.seed import csrf_from
from tests.trackers.server import LoopbackServer


def sign_in(client: TestClient, token: str, next_path: str = "/") -> Any:
    form = client.get(f"/signin?next={next_path}")
    assert form.status_code == 200
    return client.post(
        "/signin",
        data={"token": token, "csrf_token": csrf_from(form.text), "next": next_path},
        follow_redirects=False,
    )


@pytest.fixture
def signed_in(client: TestClient, tenant: Tenant) -> TestClient:
    response = sign_in(client, tenant.token)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def server(app: FastAPI) -> Iterator[LoopbackServer]:
    with LoopbackServer(app) as running:
        yield running
