"""The pull's re-read window: JQL dates have minute resolution and the index lags, so a pass
re-reads recent minutes, but only until Jira's clock (the Date header) has left them behind."""

from __future__ import annotations

from typing import Any

from connectors.base import RemoteItem, RemoteStatus
from connectors.jira import JiraConnector
from tests.trackers.jira.harness import JiraHarness

BURST = 200  # issues changed within one minute, two pages of 100


def drain(connector: JiraConnector, cursor: dict[str, Any] | None) -> tuple[list[RemoteItem], Any]:
    items: list[RemoteItem] = []
    while True:
        page = connector.fetch_changes(cursor)
        items += page.items
        cursor = page.cursor
        if not page.has_more:
            return items, cursor


def test_quiet_poll_after_a_busy_minute_costs_one_request_and_no_issue(jira: JiraHarness) -> None:
    connector = jira.connector(time_zone="Europe/Berlin")
    refs = jira.seed_items(BURST)
    jira.advance_clock(jira.store.index_lag_seconds + 1)
    first, cursor = drain(connector, None)
    assert len(first) == BURST

    # Inside the lookback the busy minute is re-read (a late-indexed change could still show),
    # and nothing is returned twice; past it, the window moves on.
    jira.advance_clock(connector.config.lookback_seconds + 60)
    again, cursor = drain(connector, cursor)
    assert again == []

    for _ in range(3):
        requests_before = len(jira.emulator.requests)
        issues_before = jira.emulator.issues_returned
        page = connector.fetch_changes(cursor)
        assert (page.items, page.has_more) == ([], False)
        assert len(jira.emulator.requests) - requests_before == 1
        assert jira.emulator.issues_returned - issues_before == 0
        assert page.cursor["seen"] == []  # the cursor stays small too
        cursor = page.cursor
        jira.advance_clock(30)

    jira.person_sets_status(refs[7], RemoteStatus.in_progress)
    jira.advance_clock(jira.store.index_lag_seconds + 1)
    changed, _ = drain(connector, cursor)
    assert [(item.ref.key, item.status) for item in changed] == [
        (refs[7].key, RemoteStatus.in_progress)
    ]


def test_cursor_from_before_the_settled_window_still_reads_recent_changes(
    jira: JiraHarness,
) -> None:
    connector = jira.connector(time_zone="Europe/Berlin")
    (ref,) = jira.seed_items(1)
    jira.advance_clock(jira.store.index_lag_seconds + 1)
    item = connector.fetch_item(ref)
    assert item is not None
    # A cursor as the connector wrote it before the window settled by Jira's clock.
    old_cursor = {"updated": item.updated_at.isoformat(), "seen": []}

    page = connector.fetch_changes(old_cursor)

    assert [found.ref.key for found in page.items] == [ref.key]
