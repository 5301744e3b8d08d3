"""What the contract suite needs from each tracker's emulator, whatever the tracker.

Each tracker provides one harness (in tests/trackers/<tracker>/harness.py) and lists itself in
``tests/contract/conftest.py``; the suite in tests/contract/ then runs unchanged against it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pytest

from connectors.base import Connector, RemoteRef, RemoteStatus


class TrackerHarness(Protocol):
    #: a short id used in test names: "github", "jira-cloud", "jira-dc", "trello"
    name: str

    def connector(self, **overrides: Any) -> Connector:
        """A connector configured against the running emulator (overrides go into its config)."""

    def connector_with_bad_credentials(self) -> Connector:
        """Same target, credentials the emulator refuses (401)."""

    def person_sets_status(self, ref: RemoteRef, status: RemoteStatus) -> None:
        """Act as a person in the tracker UI: move, close, transition the object."""

    def person_edits_title(self, ref: RemoteRef, title: str) -> None:
        """Act as a person: edit the object's title in the tracker."""

    def inject_fault(self, fault: str, count: int = 1, **options: Any) -> None:
        """Make the next ``count`` matching requests fail.

        ``fault`` is one of: "rate_limit" (options: retry_after seconds), "server_error",
        "drop_connection", "lose_create_response" (the create is committed, the answer is lost),
        "latency" (options: seconds).
        """

    def object_count(self) -> int:
        """How many planbridge-created objects exist in the target (duplicates show up here)."""

    def signed_webhook_for(self, ref: RemoteRef) -> tuple[dict[str, str], bytes]:
        """A delivery for the latest change to ``ref``, signed as the tracker signs it."""

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock on (rate-limit windows, index lag)."""

    def close(self) -> None:
        """Stop the emulator."""


@runtime_checkable
class SeedingHarness(Protocol):
    """Optional: a harness that puts planbridge-created objects straight into the emulator store.

    The pagination test needs 250+ objects; creating them through the API means waiting out the
    tracker's write limits on the emulator clock. A harness without ``seed_items`` still passes: the
    suite then creates them through the connector, advancing the clock whenever it is rate limited.
    """

    def seed_items(self, count: int) -> list[RemoteRef]:
        """Store ``count`` objects as a connector create would have left them (marker included)."""


def skip_if_lacking(harness: TrackerHarness, capability: str) -> None:
    """Skip a test of ``capability`` for a harness that declares it lacks it.

    A harness declares what its tracker does not have in ``lacks``, a dict of capability name to
    the reason (``MemoryHarness.lacks``); a harness without ``lacks`` has every capability. The
    names: "outbound_http" (the connector sends HTTP requests through connectors/outbound.py).
    """
    lacking: dict[str, str] = getattr(harness, "lacks", {})
    if capability in lacking:
        pytest.skip(f"{harness.name} lacks {capability}: {lacking[capability]}")
