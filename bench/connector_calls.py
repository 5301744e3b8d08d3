"""Tracker calls and wall time per connector operation, against the emulators over loopback HTTP.

    python -m bench.connector_calls [--creates 500] [--population 10000] [--changed 10] [tracker]

Two measures per tracker: creating N items (aim: 1.00 write each, no reads) and finding the few
items changed among many (aim: at most 2 calls; a poll with nothing changed costs one 304).
Writes are paced to the connector's ``write_limits`` on the emulator clock, as the sync engine paces
them, so documented limits cost emulated time rather than wall time.

To add a tracker: write one function returning a ``BenchTarget`` and add it to ``TARGETS``.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from connectors.base import Connector, ItemSpec, RateLimited, RateWindow, RemoteRef
from tests.contract.harness import TrackerHarness

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PACING_MARGIN = 1.0


@dataclass
class BenchTarget:
    harness: TrackerHarness
    connector: Connector
    # (method, path) of every request the emulator answered so far
    requests: Callable[[], list[tuple[str, str]]]
    # Put N planbridge-created objects straight into the emulator's store.
    seed: Callable[[int], list[RemoteRef]]
    # A person changes one object (the change a poll must find).
    change: Callable[[RemoteRef], None]


def github_target() -> BenchTarget:
    from connectors.base import RemoteStatus
    from tests.trackers.github.harness import GitHubHarness

    harness = GitHubHarness()
    emulator = harness.emulator
    return BenchTarget(
        harness=harness,
        connector=harness.connector(),
        requests=lambda: [(method, path) for method, path, _ in emulator.request_log],
        seed=harness.seed_items,
        change=lambda ref: harness.person_sets_status(ref, RemoteStatus.done),
    )


def trello_target() -> BenchTarget:
    from connectors.base import RemoteStatus
    from tests.trackers.trello.harness import TrelloHarness

    harness = TrelloHarness()
    return BenchTarget(
        harness=harness,
        connector=harness.connector(page_size=1000),  # production page size
        requests=lambda: list(harness.emulator.request_log),
        seed=harness.seed_items,
        change=lambda ref: harness.person_sets_status(ref, RemoteStatus.done),
    )


def jira_target(flavour: str) -> Callable[[], BenchTarget]:
    def build() -> BenchTarget:
        from connectors.base import RemoteStatus
        from tests.trackers.jira.harness import JiraCloudHarness, JiraDataCenterHarness

        harness = JiraCloudHarness() if flavour == "cloud" else JiraDataCenterHarness()

        def seed_a_living_project(count: int) -> list[RemoteRef]:
            # JQL has minute resolution, so a poll re-reads everything inside its lookback window;
            # a real project's issues were last touched over days, ten every ten minutes here.
            refs: list[RemoteRef] = []
            while len(refs) < count:
                refs.extend(harness.seed_items(min(10, count - len(refs))))
                harness.advance_clock(600)
            return refs

        return BenchTarget(
            harness=harness,
            connector=harness.connector(),
            requests=lambda: [(r.method, r.path) for r in harness.emulator.requests],
            seed=seed_a_living_project,
            change=lambda ref: harness.person_sets_status(ref, RemoteStatus.in_progress),
        )

    return build


TARGETS: dict[str, Callable[[], BenchTarget]] = {
    "github": github_target,
    "trello": trello_target,
    "jira-cloud": jira_target("cloud"),
    "jira-dc": jira_target("datacenter"),
}


class EmulatedPacer:
    """Keeps writes within ``write_limits`` by moving the emulator clock instead of sleeping."""

    def __init__(self, harness: TrackerHarness, limits: tuple[RateWindow, ...]) -> None:
        self.harness, self.limits = harness, limits
        self.emulated = 0.0  # seconds the pacing would have waited for real
        self.history: deque[float] = deque()

    def now(self) -> float:
        return time.monotonic() + self.emulated

    def before_write(self) -> None:
        for window in self.limits:
            recent = [moment for moment in self.history if moment > self.now() - window.seconds]
            if len(recent) >= window.requests:
                # A second's margin: the tracker stamps the write a moment after we send it.
                self.wait(recent[-window.requests] + window.seconds - self.now() + PACING_MARGIN)

    def record_write(self) -> None:
        self.history.append(self.now())

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.harness.advance_clock(seconds)
            self.emulated += seconds


def count(requests: list[tuple[str, str]]) -> tuple[int, int]:
    writes = sum(1 for method, _ in requests if method in WRITE_METHODS)
    return len(requests), writes


def measure_creates(target: BenchTarget, creates: int) -> dict[str, float]:
    pacer = EmulatedPacer(target.harness, target.connector.write_limits)
    start, refused = len(target.requests()), 0
    began = time.perf_counter()
    for index in range(creates):
        spec = ItemSpec(
            uuid.uuid4(), f"Benchmark item {index}", "Created by bench.", due_date=date(2027, 3, 1)
        )
        while True:
            pacer.before_write()
            try:
                target.connector.create_item(spec)
                pacer.record_write()
                break
            except RateLimited as limited:  # pacing should make this never happen
                refused += 1
                pacer.wait(limited.retry_after)
    wall = time.perf_counter() - began
    calls, writes = count(target.requests()[start:])
    return {
        "creates": creates,
        "calls": calls,
        "writes": writes,
        "reads": calls - writes,
        "writes_per_item": writes / creates,
        "refused": refused,
        "wall_seconds": wall,
        "emulated_seconds": pacer.emulated,
    }


def poll_until_done(
    connector: Connector, cursor: dict[str, object] | None
) -> tuple[list[str], dict[str, object], bool]:
    found: list[str] = []
    while True:
        page = connector.fetch_changes(cursor)
        found += [item.ref.external_id for item in page.items]
        cursor = page.cursor
        if not page.has_more:
            return found, cursor, page.not_modified


def measure_changes(target: BenchTarget, population: int, changed: int) -> dict[str, float]:
    refs = target.seed(population)
    began = time.perf_counter()
    start = len(target.requests())
    _, cursor, _ = poll_until_done(target.connector, None)
    first_pass_calls = len(target.requests()) - start
    first_pass_wall = time.perf_counter() - began
    # Steady state: the pass after a catch-up settles the cursor (GitHub: stores the list's ETag).
    _, cursor, _ = poll_until_done(target.connector, cursor)
    target.harness.advance_clock(60)
    for ref in refs[:: max(1, population // changed)][:changed]:
        target.change(ref)
    target.harness.advance_clock(
        target.connector.marker_lookup_delay().total_seconds() + 1
    )  # trackers whose change feed lags
    start, began = len(target.requests()), time.perf_counter()
    found, cursor, _ = poll_until_done(target.connector, cursor)
    change_calls, change_wall = len(target.requests()) - start, time.perf_counter() - began
    start = len(target.requests())
    again, _, not_modified = poll_until_done(target.connector, cursor)
    return {
        "population": population,
        "changed": changed,
        "found": len(set(found)),
        "calls": change_calls,
        "wall_seconds": change_wall,
        "unchanged_poll_calls": len(target.requests()) - start,
        "unchanged_poll_not_modified": float(not_modified and not again),
        "first_pass_calls": first_pass_calls,
        "first_pass_wall_seconds": first_pass_wall,
    }


def run(name: str, creates: int, population: int, changed: int) -> None:
    target = TARGETS[name]()
    try:
        created = measure_creates(target, creates)
        print(
            f"{name}: create {created['creates']:.0f} items: {created['calls']:.0f} calls "
            f"({created['writes']:.0f} writes, {created['reads']:.0f} reads) = "
            f"{created['writes_per_item']:.2f} writes per item, {created['refused']:.0f} refused; "
            f"{created['wall_seconds']:.2f} s wall, "
            f"{created['emulated_seconds']:.0f} s emulated pacing"
        )
    finally:
        target.connector.close()
        target.harness.close()
    target = TARGETS[name]()  # a fresh emulator: the population is the only content
    try:
        polled = measure_changes(target, population, changed)
        print(
            f"{name}: find {polled['changed']:.0f} changed among {polled['population']:.0f}: "
            f"{polled['calls']:.0f} calls, found {polled['found']:.0f}, "
            f"{polled['wall_seconds']:.3f} s wall; "
            f"unchanged poll: {polled['unchanged_poll_calls']:.0f} call(s), "
            f"not modified={bool(polled['unchanged_poll_not_modified'])}; "
            f"first full pass: {polled['first_pass_calls']:.0f} calls, "
            f"{polled['first_pass_wall_seconds']:.2f} s wall"
        )
    finally:
        target.connector.close()
        target.harness.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trackers", nargs="*", help=f"any of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--population", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=10)
    arguments = parser.parse_args()
    unknown = set(arguments.trackers) - set(TARGETS)
    if unknown:
        parser.error(f"unknown tracker(s): {', '.join(sorted(unknown))}")
    for name in arguments.trackers or list(TARGETS):
        run(name, arguments.creates, arguments.population, arguments.changed)


if __name__ == "__main__":
    main()
