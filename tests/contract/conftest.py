"""The harnesses the contract suite runs against: one line per tracker emulator.

To add a tracker, append one entry to ``HARNESS_FACTORIES``: a test id and the import path
("module:callable") of a zero-argument factory returning a ``TrackerHarness``
(tests/contract/harness.py). Factories are imported lazily, so a harness that fails to import
fails only its own parametrized tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

import pytest

from connectors.base import Connector
from tests.contract.harness import TrackerHarness

HARNESS_FACTORIES: dict[str, str] = {
    "github": "tests.trackers.github.harness:GitHubHarness",
    "jira-cloud": "tests.trackers.jira.harness:JiraCloudHarness",
    "jira-dc": "tests.trackers.jira.harness:JiraDataCenterHarness",
    "trello": "tests.trackers.trello.harness:TrelloHarness",
    "memory": "tests.trackers.memory.harness:MemoryHarness",
}


def load_harness_factory(import_path: str) -> Callable[[], TrackerHarness]:
    module_name, _, attribute = import_path.partition(":")
    factory: Callable[[], TrackerHarness] = getattr(importlib.import_module(module_name), attribute)
    return factory


@pytest.fixture(params=list(HARNESS_FACTORIES))
def harness(request: pytest.FixtureRequest) -> Iterator[TrackerHarness]:
    """A fresh emulator per test, so faults, clocks and counts never leak between tests."""
    started = load_harness_factory(HARNESS_FACTORIES[request.param])()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def connector(harness: TrackerHarness) -> Iterator[Connector]:
    built = harness.connector()
    try:
        yield built
    finally:
        built.close()
