"""Cost of the daily audit (sync/audit.py): tracker requests a day for N links per tracker.

    python -m bench.audit_cost [--links 10000] [--trackers trello,jira,github] [--days 2]

Each tracker's emulator holds ``--links`` objects planbridge made, every one linked (links two days
old, so all are due). The engine's audit then runs as it does after each pull pass: one slice
every 5 minutes (the default poll interval) for ``--days`` simulated days of the default 24-hour
audit interval, on SQLite. Printed per day: requests, links audited, links never audited, and for
GitHub how many answers were 304 (free: a conditional request answered 304 costs no rate limit).
Day 1 on GitHub has no ETags yet (every answer is a 200); day 2 is the steady state. A link is
due again 23 h 55 min after its read (one poll before the interval is up), so a day holds slightly
more reads than links, in whole batches.
"""

from __future__ import annotations

import argparse
import ipaddress
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, SQLModel, col, select

import app.models  # noqa: F401  (every table on the metadata)
from app.crypto import encrypt_json, encrypt_text
from app.db import make_engine, utcnow
from app.models import ActionItem, Connection, ExternalLink, Goal, Person, Plan, Workspace
from app.settings import Settings
from connectors.base import RemoteRef
from sync.audit import audit_connection
from sync.context import EngineContext
from tests.trackers.github.harness import TOKEN, GitHubHarness
from tests.trackers.jira.harness import JiraCloudHarness
from tests.trackers.trello.harness import TrelloHarness

POLL = timedelta(minutes=5)
DAY = timedelta(hours=24)


class ShiftedClock:
    """The system clock moved on by ``offset``: a simulated day passes in minutes."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class Tracker:
    """One emulator with ``links`` seeded objects, its connection row values and request log."""

    def __init__(self, kind: str, links: int) -> None:
        self.kind = kind
        self.harness: Any
        if kind == "trello":
            self.harness = TrelloHarness()
            emulator = self.harness.emulator
            self.row: dict[str, Any] = {
                "base_url": emulator.url,
                "scope": emulator.board["id"],
                "credentials": {"api_key": emulator.api_key, "api_token": emulator.token},
                "secret": emulator.app_secret,
                "config": {},
            }
        elif kind == "jira":
            self.harness = JiraCloudHarness()
            settings = self.harness.settings()
            credentials = {name: settings.pop(name) for name in ("email", "api_token")}
            self.row = {
                "base_url": settings.pop("base_url"),
                "scope": settings.pop("scope"),
                "credentials": credentials,
                "secret": settings.pop("webhook_secret"),
                "config": settings,
            }
        else:
            self.harness = GitHubHarness()
            self.row = {
                "base_url": self.harness.base_url,
                "scope": self.harness.scope,
                "credentials": {"token": TOKEN},
                "secret": self.harness.emulator.webhook_secret,
                "config": {},
            }
        self.refs: list[RemoteRef] = self.harness.seed_items(links)

    def requests(self) -> list[tuple[str, int | None]]:
        """(path, status) of every request the emulator served so far."""
        if self.kind == "trello":
            return [(path, None) for _, path in self.harness.emulator.request_log]
        if self.kind == "jira":
            return [(request.path, None) for request in self.harness.emulator.requests]
        return [(path, status) for _, path, status in self.harness.emulator.request_log]

    def advance(self, seconds: float) -> None:
        """The emulator's own clock follows the simulated day (its rate-limit windows too)."""
        self.harness.advance_clock(seconds)

    def close(self) -> None:
        self.harness.close()


def store_links(engine: Any, settings: Settings, tracker: Tracker) -> uuid.UUID:
    today = date.today()
    row = tracker.row
    with Session(engine) as session:
        workspace = Workspace(name="bench")
        person = Person(workspace_id=workspace.id, name="Owner", identities={})
        connection = Connection(
            workspace_id=workspace.id,
            name=tracker.kind,
            kind=tracker.kind,
            base_url=row["base_url"],
            scope=row["scope"],
            config=row["config"],
            credentials_encrypted=encrypt_json(settings, row["credentials"]),
            webhook_secret_encrypted=encrypt_text(settings, row["secret"]),
        )
        end = today + timedelta(90)
        plan = Plan(workspace_id=workspace.id, name="Q", start_date=today, end_date=end)
        goal = Goal(workspace_id=workspace.id, plan_id=plan.id, title="G", owner_id=person.id)
        for parent in (workspace, person, connection, plan, goal):
            session.add(parent)
            session.flush()  # no ORM relationships: insert parents first
        items = [
            ActionItem(
                workspace_id=workspace.id,
                goal_id=goal.id,
                title="x",
                owner_id=person.id,
                due_date=today,
                estimate_hours=1,
            )
            for _ in tracker.refs
        ]
        session.add_all(items)
        session.flush()
        made = utcnow() - 2 * DAY
        rows = [
            {
                "id": uuid.uuid4(),
                "workspace_id": workspace.id,
                "connection_id": connection.id,
                "kind": "item",
                "item_id": item.id,
                "external_id": ref.external_id,
                "key": ref.key,
                "url": ref.url,
                "pushed_revision": 1,
                "pushed_fields": {},
                "remote_fields": {},
                "attempts": 0,
                "dead": False,
                "created_at": made,
            }
            for item, ref in zip(items, tracker.refs, strict=True)
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert(ExternalLink), rows[start : start + 5000])
        session.commit()
        return connection.id


def never_audited_since(engine: Any, connection_id: uuid.UUID, since: datetime) -> int:
    with Session(engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(ExternalLink)
                .where(
                    ExternalLink.connection_id == connection_id,
                    (col(ExternalLink.last_audited_at).is_(None))
                    | (col(ExternalLink.last_audited_at) < since),
                )
            ).one()
        )


def simulate(kind: str, links: int, days: int, report: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        settings = Settings(
            database_url=url,
            secret_key="bench-secret-key-0123456789",
            embedded_worker=False,
            allowed_tracker_networks=(ipaddress.ip_network("127.0.0.1/32"),),
        )
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        tracker = Tracker(kind, links)
        clock = ShiftedClock()
        context = EngineContext(engine, settings, worker_id="bench", clock=clock)
        try:
            connection_id = store_links(engine, settings, tracker)
            # The objects are days old, as the links say: past Jira's search index lag too.
            tracker.advance(3600)
            for day in range(1, days + 1):
                day_started = clock.now()
                before = len(tracker.requests())
                started = time.perf_counter()
                audited = 0
                for _ in range(int(DAY / POLL)):
                    audited += audit_connection(context, connection_id)["audited"]
                    clock.sleep(POLL.total_seconds())
                    tracker.advance(POLL.total_seconds())
                seconds = time.perf_counter() - started
                served = tracker.requests()[before:]
                free = sum(1 for _, status in served if status == 304)
                missed = never_audited_since(engine, connection_id, day_started)
                line = (
                    f"{kind:7} day {day}: {len(served):6,} requests for {audited:6,} links audited"
                    f" ({missed} not audited that day)"
                )
                if kind == "github":
                    line += f", {free:,} of them free 304s, {len(served) - free:,} counted"
                report(line + f"; {seconds:.1f} s wall for the day's {int(DAY / POLL)} passes")
        finally:
            context.close()
            tracker.close()
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--trackers", default="trello,jira,github")
    parser.add_argument("--days", type=int, default=2)
    arguments = parser.parse_args()
    print(f"audit cost: {arguments.links:,} links per tracker, 24 h interval, a pass every 5 min")
    for kind in arguments.trackers.split(","):
        simulate(kind, arguments.links, arguments.days, lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
