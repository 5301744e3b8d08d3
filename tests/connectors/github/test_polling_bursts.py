"""Quiet polls after a bulk change come back to one free 304 (issue #14, GitHub pulls)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.github import GitHubConnector
from tests.trackers.github.harness import GitHubHarness


def poll_pass(connector: GitHubConnector, cursor: dict[str, Any] | None) -> dict[str, Any]:
    """Every page of one pull pass, as the engine reads them."""
    while True:
        page = connector.fetch_changes(cursor)
        cursor = page.cursor
        if not page.has_more:
            return cursor


def statuses_of_a_pass(
    github: GitHubHarness, connector: GitHubConnector, cursor: dict[str, Any]
) -> tuple[list[int], dict[str, Any]]:
    start = len(github.emulator.request_log)
    cursor = poll_pass(connector, cursor)
    return [status for _, _, status in github.emulator.request_log[start:]], cursor


@pytest.mark.parametrize(
    ("issues", "burst", "page_size"),
    [(80, 60, 100), (120, 100, 10)],
    ids=["more-than-half-a-page", "several-pages"],
)
def test_second_quiet_poll_after_a_burst_is_one_304(
    github: GitHubHarness, issues: int, burst: int, page_size: int
) -> None:
    connector = github.connector(page_size=page_size)
    refs = github.seed_items(issues)
    cursor = poll_pass(connector, None)
    github.advance_clock(60)
    cursor = poll_pass(connector, cursor)
    github.advance_clock(60)
    # A bulk change: every issue of the burst changes inside one lookback window.
    for ref in refs[:burst]:
        github.emulator.person_closes(int(ref.external_id))
    github.advance_clock(1)
    read = connector.fetch_changes(cursor)
    changed = {item.ref.external_id for item in read.items}
    cursor = read.cursor
    while read.has_more:
        read = connector.fetch_changes(cursor)
        changed |= {item.ref.external_id for item in read.items}
        cursor = read.cursor

    github.advance_clock(60)
    first_quiet, cursor = statuses_of_a_pass(github, connector, cursor)
    github.advance_clock(60)
    second_quiet, cursor = statuses_of_a_pass(github, connector, cursor)
    github.advance_clock(60)
    third_quiet, _ = statuses_of_a_pass(github, connector, cursor)

    assert changed == {ref.external_id for ref in refs[:burst]}
    assert len(first_quiet) <= burst // page_size + 2
    assert second_quiet == [304]
    assert third_quiet == [304]
    connector.close()


def test_a_change_after_a_settled_burst_is_still_found(github: GitHubHarness) -> None:
    connector = github.connector(page_size=10)
    refs = github.seed_items(40)
    cursor = poll_pass(connector, None)
    github.advance_clock(60)
    cursor = poll_pass(connector, cursor)
    github.advance_clock(60)
    cursor = poll_pass(connector, cursor)

    github.emulator.person_edits_title(int(refs[5].external_id), "Renamed by a person")
    page = connector.fetch_changes(cursor)

    assert [item.title for item in page.items] == ["Renamed by a person"]
    connector.close()
