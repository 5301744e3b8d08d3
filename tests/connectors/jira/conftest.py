"""A running Jira emulator per test, in Cloud and in Data Center mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.trackers.jira.harness import JiraCloudHarness, JiraDataCenterHarness, JiraHarness


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest) -> Iterator[JiraHarness]:
    harness = JiraCloudHarness() if request.param == "cloud" else JiraDataCenterHarness()
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def cloud() -> Iterator[JiraHarness]:
    harness = JiraCloudHarness()
    try:
        yield harness
    finally:
        harness.close()
