"""Push pacing: 1,000 items into GitHub (80 creates/min, 500/hour) and Trello (100 per 10 s).

    python bench/push_pacing.py                       # 1,000 items into each tracker
    python bench/push_pacing.py --items 300 --github-factor 2 --trello-items 300

What runs: the real engine (``SyncEngine.run_pass``, the foreground pass of ``planbridge sync``) on
an embedded SQLite database, pushing the items of one plan over loopback HTTP into the tracker
emulator, which enforces the tracker's documented limits and answers over them as the tracker does
(GitHub 403 "secondary rate limit", Trello 429).

Clocks. GitHub's limits span an hour, so the GitHub run shares one accelerated clock between the
engine (``EngineContext.clock``: pacing, the write log) and the emulator (timestamps, limit
windows): it runs ``--github-factor`` times faster than wall time (default 1: while the engine
works, tracker time is wall time), and when the engine has nothing to do but wait for a write
slot, its ``sleep`` moves that shared clock forward instead of sleeping (the emulator sees the same
jump). Nothing is skipped that the engine could have used: it sleeps only when every pending push
waits for a slot. Trello's window is 10 s and the Trello connector also paces its own requests on
the real clock, so the Trello run uses wall time on both sides; it starts pushing once the
connection check's requests have left Trello's per-token window (the engine's write log counts
only the engine's own writes, so a bulk push in the same 10 s as the check could meet one 429,
which the engine would wait out and retry).

Figures: answers over the limit (must be 0), tracker writes per created item (must be 1.00), and
the creation rate against the best rate the limits allow: the ideal schedule sends each write at
the earliest moment no window is full; the achieved share is ideal time / measured time, on the
clock the tracker counts with (aim: at least 95%). GitHub limits content-creating requests, so its
span is from the first create to the last. Trello counts every request of the token, reads
included, and the push sends a few besides the creates (the pass's pull of the board, the board's
lists and labels, the goal's label): its span runs from the push's first request to its last
create, against the ideal schedule of all those requests; the creates-only span is printed too.
Writes per item count writes to cards; the goal's label is reported apart.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import make_engine
from app.main import create_app
from app.migrations.runner import upgrade
from app.models import Scope
from app.services.tokens import get_or_create_workspace, issue_token
from app.settings import Settings
from sync.clock import SystemClock
from sync.context import EngineContext
from sync.engine import SyncEngine
from tests.production.github_setup import GitHubSetup, add_item, create_github_connection
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.trello.harness import TrelloHarness

SECRET_KEY = "bench-secret-key-0123456789abcdef"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LIMITED_STATUSES = frozenset({403, 429})


class SharedClock:
    """An accelerated clock whose ``sleep`` jumps forward (for the engine and the emulator)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self._origin_wall = time.monotonic()
        self._origin = datetime.now(UTC)
        self._jumped = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin_wall) * self.factor
        with self._lock:
            return self._origin + timedelta(seconds=elapsed + self._jumped)

    def timestamp(self) -> float:
        return self.now().timestamp()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._jumped += max(0.0, seconds)

    @property
    def jumped(self) -> float:
        return self._jumped


def ideal_seconds(writes: int, windows: Sequence[tuple[int, float]]) -> float:
    """Time from the first write to the last when each goes at the earliest allowed moment."""
    times: list[float] = []
    for index in range(writes):
        earliest = 0.0
        for requests, seconds in windows:
            if index >= requests:
                # The window (t - seconds, t] may hold ``requests`` writes: wait for the one that
                # pushed it over to leave.
                earliest = max(earliest, times[index - requests] + seconds)
        times.append(max(earliest, times[-1] if times else 0.0))
    return times[-1] if times else 0.0


@dataclass
class Outcome:
    tracker: str
    items: int
    created: int
    writes: int
    limited: int
    measured_seconds: float
    ideal_seconds: float
    wall_seconds: float
    span: str = "first to last create"

    def lines(self) -> list[str]:
        share = self.ideal_seconds / self.measured_seconds if self.measured_seconds else 0.0
        rate = (self.created - 1) / self.measured_seconds if self.measured_seconds else 0.0
        ideal_rate = (self.items - 1) / self.ideal_seconds if self.ideal_seconds else 0.0
        verdict = (
            "PASS"
            if self.limited == 0
            and self.created == self.items
            and self.writes == self.created
            and share >= 0.95
            else "FAIL"
        )
        return [
            f"{self.tracker}: created {self.created} of {self.items}, "
            f"{self.writes} writes = {self.writes / max(self.created, 1):.2f} per created item, "
            f"{self.limited} answers over the limit",
            f"{self.tracker}: {self.span} {self.measured_seconds:.1f} s tracker time "
            f"({rate * 60:.1f}/min), ideal {self.ideal_seconds:.1f} s ({ideal_rate * 60:.1f}/min): "
            f"{share:.1%} of the allowed rate; {self.wall_seconds:.1f} s wall",
            f"{self.tracker}: {verdict} (0 over the limit, 1.00 write per item, >= 95% of rate)",
        ]


def _service(database: Path) -> tuple[Settings, Any, TestClient, dict[str, str]]:
    settings = Settings(
        database_url=f"sqlite:///{database}",
        secret_key=SECRET_KEY,
        allow_private_trackers=True,
        embedded_worker=False,
        log_level="WARNING",
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with Session(engine) as session:
        workspace = get_or_create_workspace(session, "bench")
        token = issue_token(session, workspace.id, Scope.admin, "bench").token
        session.commit()
    client = TestClient(create_app(settings, engine))
    return settings, engine, client, {"Authorization": f"Bearer {token}"}


def _plan(
    client: TestClient, headers: dict[str, str], connection_id: str, identities: dict[str, str]
) -> GitHubSetup:
    def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    today = datetime.now(UTC).date()
    person = created("/api/v1/people", {"name": "Owner", "identities": identities})
    plan = created(
        "/api/v1/plans",
        {
            "name": "Bulk",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=90)).isoformat(),
            "default_connection_id": connection_id,
        },
    )
    goal = created(
        "/api/v1/goals", {"plan_id": plan["id"], "title": "Bulk", "owner_id": person["id"]}
    )
    return GitHubSetup(connection_id, "", person["id"], plan["id"], goal["id"])


def _push_all(
    settings: Settings, engine: Any, clock: Any, items: int, created: Callable[[], int]
) -> float:
    context = EngineContext(engine, settings, "bench-pacing", clock)
    started = time.monotonic()
    try:
        engine_pass = SyncEngine(context)
        while created() < items and time.monotonic() - started < 900:
            engine_pass.run_pass()
    finally:
        context.close()
    return time.monotonic() - started


def run_github(items: int, factor: float, workdir: Path) -> Outcome:
    clock = SharedClock(factor)
    harness = GitHubHarness()
    emulator = harness.emulator
    emulator.clock.now = clock.now  # type: ignore[method-assign]  # one clock for both sides
    try:
        settings, engine, client, headers = _service(workdir / "github.db")
        connection = create_github_connection(client, headers, harness.base_url, harness.scope)
        setup = _plan(client, headers, connection["id"], {"github": "octocat"})
        for index in range(items):
            add_item(client, headers, setup, f"Bulk item {index}")
        emulator.request_log.clear()
        wall = _push_all(settings, engine, clock, items, harness.object_count)
        with emulator.lock:
            issues = [i for i in emulator.repository.issues.values() if not i.is_pull_request]
            stamps = sorted(issue.created_at for issue in issues)
            log = list(emulator.request_log)
        return Outcome(
            "GitHub",
            items,
            len(issues),
            sum(1 for method, _path, _status in log if method in WRITE_METHODS),
            sum(1 for _method, _path, status in log if status in LIMITED_STATUSES),
            (stamps[-1] - stamps[0]).total_seconds() if stamps else 0.0,
            ideal_seconds(items, [(80, 60), (500, 3600)]),
            wall,
        )
    finally:
        harness.close()


def _cards(harness: TrelloHarness) -> int:
    """Cards that carry an item marker (each planbridge item's card)."""
    store = harness.emulator.store
    with store.lock:
        return sum(1 for card in store.cards.values() if "planbridge" in card["desc"])


def _slot_use(times: list[float], requests: int, seconds: float) -> str:
    """How late each request came after its slot opened (the request one budget earlier plus
    the window): the engine's margin plus its wake-up and claim latency."""
    late = sorted(times[i] - times[i - requests] - seconds for i in range(requests, len(times)))
    if not late:
        return "Trello: fewer requests than one window"
    return (
        f"Trello: each request after its slot opened: median {late[len(late) // 2] * 1000:.0f} ms,"
        f" p90 {late[int(len(late) * 0.9)] * 1000:.0f} ms, max {late[-1] * 1000:.0f} ms"
    )


def run_trello(items: int, workdir: Path) -> tuple[Outcome, list[str]]:
    harness = TrelloHarness()
    emulator = harness.emulator
    try:
        settings, engine, client, headers = _service(workdir / "trello.db")
        response = client.post(
            "/api/v1/connections",
            json={
                "kind": "trello",
                "name": "Trello",
                "base_url": emulator.url,
                "scope": emulator.board["id"],
                "credentials": {"api_key": emulator.api_key, "api_token": emulator.token},
                "webhook_secret": emulator.app_secret,
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        setup = _plan(client, headers, response.json()["id"], {"trello": emulator.person["id"]})
        for index in range(items):
            add_item(client, headers, setup, f"Bulk item {index}")
        time.sleep(10.5)  # the check's requests leave the per-token window
        # When each request arrived, and whether it was a card create.
        arrivals: list[tuple[float, bool]] = []

        class TimedLog(list[tuple[str, str]]):
            """The emulator's request log, also noting when each request arrived."""

            def append(self, entry: tuple[str, str]) -> None:
                is_create = entry[0] == "POST" and entry[1].rstrip("/").endswith("/cards")
                arrivals.append((time.monotonic(), is_create))
                super().append(entry)

        emulator.request_log = TimedLog()
        wall = _push_all(settings, engine, SystemClock(), items, lambda: _cards(harness))
        log = list(emulator.request_log)
        creates = [moment for moment, is_create in arrivals if is_create]
        # Trello counts every request of the token, reads included: the push's own setup
        # requests (the board's lists and labels, the goal's label) share the creates' budget.
        # The best the limit allows is every request of the push at the earliest moment no
        # window is full, from the push's first request to its last create.
        pushed = [moment for moment, _ in arrivals if creates and moment <= creates[-1]]
        extra = len(pushed) - len(creates)
        creates_ideal = ideal_seconds(items, [(100, 10)])
        notes = [
            _slot_use(pushed, 100, 10.0),
            f"Trello: {len(pushed)} requests up to the last create ({extra} besides the "
            "creates: the pass's pull, the board's lists and labels, the goal's label); "
            "creates alone, first to last: "
            f"{creates[-1] - creates[0]:.1f} s, against {creates_ideal:.0f} s if they were the "
            "only requests"
            if creates
            else "Trello: no create",
            "Trello: writes other than to cards: "
            + str(sum(1 for m, path in log if m in WRITE_METHODS and "/cards" not in path)),
        ]
        outcome = Outcome(
            "Trello",
            items,
            _cards(harness),
            # Writes to cards; the goal's label (one write per goal) is noted above.
            sum(1 for method, path in log if method in WRITE_METHODS and "/cards" in path),
            emulator.limits.refused_count,
            pushed[-1] - pushed[0] if pushed else 0.0,
            ideal_seconds(len(pushed), [(100, 10)]),
            wall,
            span="first request to last create",
        )
        return outcome, notes
    finally:
        harness.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=1000, help="GitHub items")
    parser.add_argument("--trello-items", type=int, default=1000)
    parser.add_argument("--github-factor", type=float, default=1.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="planbridge-push-pacing-"))
    print(f"GitHub: {args.items} items, clock x{args.github_factor:g}; Trello: wall time")
    if args.items:
        for line in run_github(args.items, args.github_factor, workdir).lines():
            print(line, flush=True)
    if args.trello_items:
        outcome, notes = run_trello(args.trello_items, workdir)
        for line in [*notes, *outcome.lines()]:
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
