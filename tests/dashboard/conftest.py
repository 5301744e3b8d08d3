"""Dashboard fixtures: a browser-like TestClient that signs in through the sign-in form."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.dashboard.seed import csrf_from


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
