"""Trello connector call counts against the emulator over loopback HTTP.

1. Create 500 cards for one goal whose label already exists: writes per card (aim 1.00).
2. Find the 10 cards a person changed among 10,000: calls for one incremental pass (aim <= 2).

Run from the repository root: ``python -m bench.trello_calls``. The connector paces on the
emulator's clock, so waiting out Trello's 100 requests per 10 s costs emulated seconds only.
"""

from __future__ import annotations

import time
import uuid

from connectors.base import ItemSpec, RemoteStatus
from tests.trackers.trello.harness import TrelloHarness

CARDS_TO_CREATE = 500
BOARD_SIZE = 10_000
CHANGED = 10
GOAL = "Launch the self-serve plan"


def create_cards() -> None:
    harness = TrelloHarness()
    connector = harness.connector()
    try:
        harness.emulator.store.create_label(harness.emulator.board["id"], GOAL, "green")
        emulated_start = harness.emulator.clock.timestamp()
        wall_start = time.perf_counter()
        for number in range(CARDS_TO_CREATE):
            connector.create_item(
                ItemSpec(item_id=uuid.uuid4(), title=f"Action item {number}", goal_title=GOAL)
            )
        wall = time.perf_counter() - wall_start
        emulated = harness.emulator.clock.timestamp() - emulated_start
        writes, requests = connector.client.write_count, connector.client.request_count
        print(f"create {CARDS_TO_CREATE} cards (goal label exists):")
        print(f"  writes            {writes}  ({writes / CARDS_TO_CREATE:.2f} per card)")
        print(f"  reads             {requests - writes}  (board lists and labels, once)")
        print(f"  429 answers       {harness.emulator.limits.refused_count}")
        print(f"  emulated seconds  {emulated:.1f}  (Trello's 100 requests / 10 s per token)")
        print(f"  wall seconds      {wall:.2f}")
    finally:
        connector.close()
        harness.close()


def find_changed_cards() -> None:
    harness = TrelloHarness()
    # Production page size: Trello's maximum of 1,000 cards or actions per call.
    connector = harness.connector(page_size=1000)
    try:
        refs = harness.seed_items(BOARD_SIZE)
        cursor = None
        while True:
            page = connector.fetch_changes(cursor)
            cursor = page.cursor
            if not page.has_more:
                break
        first_pass_calls = connector.client.request_count
        for ref in refs[:: BOARD_SIZE // CHANGED]:
            harness.emulator.person_moves(ref.external_id, "Doing")
        before = connector.client.request_count
        wall_start = time.perf_counter()
        changed = connector.fetch_changes(cursor)
        wall = time.perf_counter() - wall_start
        calls = connector.client.request_count - before
        moved = sum(1 for item in changed.items if item.status is RemoteStatus.in_progress)
        print(f"find {CHANGED} changed among {BOARD_SIZE:,} cards:")
        print(f"  calls             {calls}  (actions since cursor + one /1/batch of cards)")
        print(f"  items reported    {len(changed.items)}  ({moved} now in progress)")
        print(f"  wall seconds      {wall:.3f}")
        print(f"  first full pass   {first_pass_calls} calls (one-off, 1,000 cards per page)")
    finally:
        connector.close()
        harness.close()


if __name__ == "__main__":
    create_cards()
    find_changed_cards()
