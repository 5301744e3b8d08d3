from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.github import GitHubConnector
from tests.trackers.github.harness import GitHubHarness


@pytest.fixture
def github() -> Iterator[GitHubHarness]:
    harness = GitHubHarness()
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def connector(github: GitHubHarness) -> Iterator[GitHubConnector]:
    built = github.connector()
    try:
        yield built
    finally:
        built.close()
