"""Repeated failed authentication from one client is slowed down with 429 and Retry-After."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.main import create_app
from app.security.throttle import AuthThrottle
from app.settings import Settings
from tests.conftest import Tenant

BAD_TOKEN = {"Authorization": "Bearer pb_not-a-real-token-0000000000"}


def test_tenth_failure_from_one_client_throttles_further_failed_attempts(
    client: TestClient, tenant: Tenant
) -> None:
    for _ in range(10):
        assert client.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 401
    throttled = client.get("/api/v1/plans", headers=BAD_TOKEN)
    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    # Unauthenticated routes stay open.
    assert client.get("/healthz").status_code == 200


def test_valid_token_is_served_from_an_address_throttled_for_failed_attempts(
    client: TestClient, tenant: Tenant
) -> None:
    # One broken script behind an office's NAT must not lock the office out.
    for _ in range(10):
        assert client.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 401
    assert client.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 429
    for _ in range(3):
        assert client.get("/api/v1/plans", headers=tenant.headers).status_code == 200
        assert client.post("/api/v1/plans", headers=BAD_TOKEN, json={}).status_code == 429
    # Serving the valid token did not reset the count of the failures.
    assert client.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 429


def test_successful_and_missing_tokens_do_not_count_as_failures(
    client: TestClient, tenant: Tenant
) -> None:
    for _ in range(30):
        assert client.get("/api/v1/plans", headers=tenant.headers).status_code == 200
        assert client.get("/api/v1/plans").status_code == 401
    assert client.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 401


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_releases_when_failures_leave_the_window() -> None:
    clock = FakeClock()
    throttle = AuthThrottle(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("198.51.100.7") is None
        throttle.record_failure("198.51.100.7")
        clock.now += 10
    # Failures at 1000, 1010, 1020; now 1030: the first leaves the window at 1060.
    assert throttle.retry_after("198.51.100.7") == 30
    assert throttle.retry_after("203.0.113.9") is None  # other clients are not affected
    clock.now = 1060.5
    assert throttle.retry_after("198.51.100.7") is None


def test_throttle_forgets_the_oldest_clients_beyond_its_bound() -> None:
    throttle = AuthThrottle(max_failures=1, window_seconds=60, clock=FakeClock(), max_clients=100)
    for number in range(250):
        throttle.record_failure(f"10.0.{number // 256}.{number % 256}")
    assert throttle.retry_after("10.0.0.0") is None  # evicted
    assert throttle.retry_after("10.0.0.249") is not None


def test_api_replicas_share_the_failure_count_on_postgresql_and_not_on_sqlite(
    settings: Settings, engine: Engine, tenant: Tenant, backend: str
) -> None:
    # Two API processes: two apps (each with its own throttle) on one database.
    with (
        TestClient(create_app(settings, engine), raise_server_exceptions=False) as first,
        TestClient(create_app(settings, engine), raise_server_exceptions=False) as second,
    ):
        for number in range(10):  # alternating, as a balancer would spread them
            replica = second if number % 2 == 0 else first
            assert replica.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 401
        if backend == "postgres":
            # The replica that counted the tenth failure blocks at once; the other one on the
            # next failure it sees: 11 tries in all, not 20.
            assert first.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 429
            assert second.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 401
            assert second.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 429
            assert second.get("/api/v1/plans", headers=tenant.headers).status_code == 200
        else:
            # SQLite serves one process: each app counts only its own failures.
            for _ in range(5):
                assert first.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 401
            assert first.get("/api/v1/plans", headers=BAD_TOKEN).status_code == 429
            assert second.get("/api/v1/plans", headers=tenant.headers).status_code == 200
