"""Error mapping: Retry-After in both forms, 401/5xx/timeouts, the library's retry kept off."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from connectors.base import AuthFailed, RateLimited, Transient
from connectors.jira.client import retry_after_seconds
from tests.trackers.faults import WindowLimiter
from tests.trackers.jira.harness import JiraHarness


def test_retry_after_as_seconds() -> None:
    assert retry_after_seconds("17") == 17.0
    assert retry_after_seconds(" 0 ") == 0.0


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 25 Nov 2026 10:00:42 GMT", now=now) == 42.0
    assert retry_after_seconds("Wed, 25 Nov 2026 09:59:00 GMT", now=now) == 0.0


def test_retry_after_unreadable_or_missing() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


@pytest.mark.parametrize("http_date", [False, True])
def test_429_becomes_rate_limited_without_the_library_sleeping(
    jira: JiraHarness, http_date: bool
) -> None:
    connector = jira.connector()
    connector.check()
    jira.inject_fault("rate_limit", retry_after=40, http_date=http_date)
    started = time.monotonic()

    with pytest.raises(RateLimited) as limited:
        connector.check()

    assert limited.value.retry_after == pytest.approx(40, abs=2)
    assert time.monotonic() - started < 5  # no ResilientSession back-off sleeps
    assert connector.rate_limit.remaining == 0


def test_burst_limit_of_the_emulator_is_reported_as_rate_limited(jira: JiraHarness) -> None:
    jira.emulator.limiter = WindowLimiter(jira.clock, 3, 10)
    connector = jira.connector()
    with pytest.raises(RateLimited) as limited:
        for _ in range(5):
            connector.check()
    assert 0 < limited.value.retry_after <= 10
    jira.advance_clock(11)
    connector.check()


def test_503_with_retry_after_is_rate_limited_and_500_is_transient(jira: JiraHarness) -> None:
    connector = jira.connector()
    connector.check()
    jira.inject_fault("server_error", status=503, retry_after=7)
    with pytest.raises(RateLimited) as limited:
        connector.check()
    assert limited.value.retry_after == pytest.approx(7)
    jira.inject_fault("server_error")
    with pytest.raises(Transient):
        connector.check()


def test_bad_credentials_fail_at_the_first_call_as_auth_failed(jira: JiraHarness) -> None:
    refused = jira.connector_with_bad_credentials()
    with pytest.raises(AuthFailed, match="401"):
        refused.fetch_changes(None)


def test_timeout_is_transient(jira: JiraHarness) -> None:
    connector = jira.connector(timeout_seconds=0.2)
    connector.check()
    jira.inject_fault("latency", seconds=1)
    with pytest.raises(Transient):
        connector.check()
