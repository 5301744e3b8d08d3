"""Jira connector call counts against the Jira emulator over loopback HTTP, Cloud and Data Center.

1. Create 500 issues: requests per issue (aim 1.00 write each, no reads).
2. Find the 10 issues a person changed in a project of 10,000 (last touched over a week): calls
   for one incremental pass (aim <= 2).
3. Quiet polls, 60 s apart, after 200 issues changed within one minute: requests and issues each
   poll costs (aim: one request and no issue once the lookback has passed that minute).

Run from the repository root: ``python -m bench.jira_calls``. The emulator's search index lag is
waited out on its clock, not in real time.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any

from connectors.base import ItemSpec, RemoteStatus
from connectors.jira import JiraConnector
from tests.trackers.jira.harness import JiraCloudHarness, JiraDataCenterHarness, JiraHarness

ISSUES_TO_CREATE = 500
PROJECT_SIZE = 10_000
CHANGED = 10
BURST = 200
QUIET_POLLS = 6


def create_issues(harness: JiraHarness) -> None:
    connector = harness.connector()
    try:
        connector.check()  # serverInfo, myself, project: once per connector, not per issue
        before = len(harness.emulator.requests)
        writes_before = harness.write_count()
        wall_start = time.perf_counter()
        for number in range(ISSUES_TO_CREATE):
            connector.create_item(
                ItemSpec(
                    item_id=uuid.uuid4(),
                    title=f"Action item {number}",
                    description="Owner drafts it.\n\n- step one\n- [spec](https://example.com)",
                    due_date=date(2027, 3, 1),
                    estimate_hours=3,
                )
            )
        wall = time.perf_counter() - wall_start
        requests = len(harness.emulator.requests) - before
        writes = harness.write_count() - writes_before
        print(f"[{harness.name}] create {ISSUES_TO_CREATE} issues:")
        print(f"  requests          {requests}  ({requests / ISSUES_TO_CREATE:.2f} per issue)")
        print(f"  writes            {writes}  ({writes / ISSUES_TO_CREATE:.2f} per issue)")
        print(f"  wall              {wall:.2f} s")
    finally:
        connector.close()


def find_changed(harness: JiraHarness) -> None:
    connector = harness.connector()
    try:
        connector.check()
        # A living project: issues last touched over the past week, ten every ten minutes. (Seeded
        # in one minute, polls re-read them until the lookback has passed: measure 3.)
        refs = []
        for _ in range(PROJECT_SIZE // 10):
            refs.extend(harness.seed_items(10))
            harness.advance_clock(600)
        harness.advance_clock(connector.marker_lookup_delay().total_seconds() + 1)
        before = len(harness.emulator.requests)
        cursor = None
        full_pass_pages = 0
        while True:
            page = connector.fetch_changes(cursor)
            cursor, full_pass_pages = page.cursor, full_pass_pages + 1
            if not page.has_more:
                break
        full_pass_calls = len(harness.emulator.requests) - before

        harness.advance_clock(300)
        for ref in refs[:: PROJECT_SIZE // CHANGED][:CHANGED]:
            harness.person_sets_status(ref, RemoteStatus.in_progress)
        harness.advance_clock(connector.marker_lookup_delay().total_seconds() + 1)

        before = len(harness.emulator.requests)
        wall_start = time.perf_counter()
        found = []
        while True:
            page = connector.fetch_changes(cursor)
            found.extend(page.items)
            cursor = page.cursor
            if not page.has_more:
                break
        wall = time.perf_counter() - wall_start
        calls = len(harness.emulator.requests) - before
        print(f"[{harness.name}] find {CHANGED} changed among {PROJECT_SIZE:,}:")
        print(f"  calls             {calls}  (found {len(found)} changed issues)")
        print(f"  wall              {wall:.2f} s")
        print(f"  first full pass   {full_pass_calls} calls ({full_pass_pages} pages, one-off)")
    finally:
        connector.close()


def quiet_polls_after_a_burst(harness: JiraHarness) -> None:
    connector = harness.connector()
    try:
        connector.check()
        harness.seed_items(BURST)
        harness.advance_clock(connector.marker_lookup_delay().total_seconds() + 1)
        cursor, _ = drain(connector, None)
        costs = []
        for _ in range(QUIET_POLLS):
            harness.advance_clock(60)
            requests_before = len(harness.emulator.requests)
            issues_before = harness.emulator.issues_returned
            cursor, found = drain(connector, cursor)
            costs.append(
                f"{len(harness.emulator.requests) - requests_before}/"
                f"{harness.emulator.issues_returned - issues_before}"
                + ("" if not found else f" (+{found} changes!)")
            )
        print(f"[{harness.name}] quiet polls 60 s apart after {BURST} changes in one minute:")
        print(f"  requests/issues   {', '.join(costs)}")
    finally:
        connector.close()


def drain(connector: JiraConnector, cursor: dict[str, Any] | None) -> tuple[Any, int]:
    """Every page of one pass: the cursor after it and how many changes it reported."""
    found = 0
    while True:
        page = connector.fetch_changes(cursor)
        found += len(page.items)
        cursor = page.cursor
        if not page.has_more:
            return cursor, found


def main() -> None:
    for flavour in (JiraCloudHarness, JiraDataCenterHarness):
        harness = flavour()
        try:
            create_issues(harness)
        finally:
            harness.close()
        harness = flavour()
        try:
            find_changed(harness)
        finally:
            harness.close()
        harness = flavour()
        try:
            quiet_polls_after_a_burst(harness)
        finally:
            harness.close()


if __name__ == "__main__":
    main()
