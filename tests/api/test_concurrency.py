from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.factories import API, create_goal, create_person, create_plan, item_body
from tests.conftest import Tenant
from tests.trackers.server import LoopbackServer


def test_concurrent_writes_all_succeed_over_real_http(
    app: FastAPI, client: TestClient, tenant: Tenant
) -> None:
    """16 clients writing at once: on SQLite they take turns, never "database is locked"."""
    owner = create_person(client, tenant)
    goal = create_goal(client, tenant, create_plan(client, tenant), owner)
    body = item_body(goal, owner)

    def write_ten(index: int) -> list[int]:
        with httpx.Client(base_url=server.url, headers=tenant.headers, timeout=60) as http:
            return [
                http.post(f"{API}/items", json={**body, "title": f"{index}-{n}"}).status_code
                for n in range(10)
            ]

    with LoopbackServer(app) as server, ThreadPoolExecutor(16) as pool:
        statuses = [status for batch in pool.map(write_ten, range(16)) for status in batch]
    assert statuses == [201] * 160
    assert client.get(f"{API}/items", headers=tenant.headers).json()["total"] == 160
