"""Pull cost of the sync engine against the GitHub emulator.

    python -m bench.pull_cost [--population 10000] [--changed 10]
    python -m bench.pull_cost --bursts 60,1000 --population 2000
    python -m bench.pull_cost --links 1000,10000,30000 --backend both

Three figures:
- ``--changed``: tracker calls and wall time of one engine pull pass when that many of
  ``--population`` linked issues changed, then the calls of a pass when nothing changed (aim: one
  304);
- ``--bursts``: after a burst of N changes inside one lookback window, the calls of the pass that
  reads it and of the first and second quiet polls after it (aim: the second is one 304);
- ``--links``: engine time of a quiet pass (the poll answers 304) with that many links on the
  connection (aim: flat), median of 30 passes, SQLite and/or PostgreSQL.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert, select
from sqlmodel import Session, SQLModel, col

import app.models  # noqa: F401  (every table on the metadata)
from app.crypto import encrypt_json, encrypt_text
from app.db import make_engine, utcnow
from app.models import ActionItem, Connection, ExternalLink, Goal, Person, Plan, Workspace
from app.settings import Settings
from connectors.base import RemoteRef, RemoteStatus
from sync.context import EngineContext
from sync.link_scopes import scopes_of
from sync.pull import pull_connection
from tests.trackers.github.harness import TOKEN, GitHubHarness

ADMIN_URL = os.environ.get(
    "PLANBRIDGE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
QUIET_PASSES = 30


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=None)
    parser.add_argument("--bursts", default=None, help="comma-separated burst sizes")
    parser.add_argument("--links", default=None, help="comma-separated link counts")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    arguments = parser.parse_args()
    if arguments.changed is None and arguments.bursts is None and arguments.links is None:
        arguments.changed = 10
    if arguments.changed is not None:
        with sqlite_database() as url:
            changes_pass(url, arguments.population, arguments.changed)
    for burst in [int(n) for n in (arguments.bursts or "").split(",") if n]:
        with sqlite_database() as url:
            burst_polls(url, max(arguments.population, burst), burst)
    for count in [int(n) for n in (arguments.links or "").split(",") if n]:
        if arguments.backend in ("sqlite", "both"):
            with sqlite_database() as url:
                quiet_pass_time(url, "SQLite", count)
        if arguments.backend in ("postgres", "both"):
            with postgres_database() as url:
                quiet_pass_time(url, "PostgreSQL", count)


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"pb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rpartition("/")[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Setup:
    """A workspace with one GitHub connection to a fresh emulator and ``links`` linked items."""

    def __init__(self, url: str, issues: int, links: int | None = None) -> None:
        self.settings = Settings(
            database_url=url,
            secret_key="bench-secret-key-0123456789",
            embedded_worker=False,
            allowed_tracker_networks=(ipaddress.ip_network("127.0.0.1/32"),),
        )
        self.engine = make_engine(url)
        SQLModel.metadata.create_all(self.engine)
        self.github = GitHubHarness()
        self.refs = self.github.seed_items(issues)
        external_ids = [ref.external_id for ref in self.refs]
        if links is not None:
            # Links beyond the emulator's issues: a quiet pass never reads them.
            external_ids += [f"9{n:07d}" for n in range(max(0, links - len(external_ids)))]
        self.connection_id = self._store(external_ids[: links or len(external_ids)])
        self.context = EngineContext(self.engine, self.settings, worker_id="bench")

    def _store(self, external_ids: list[str]) -> uuid.UUID:
        today = date.today()
        with Session(self.engine) as session:
            workspace = Workspace(name="bench")
            person = Person(workspace_id=workspace.id, name="Octo", identities={"github": "x"})
            connection = Connection(
                workspace_id=workspace.id,
                name="GitHub",
                kind="github",
                base_url=self.github.base_url,
                scope=self.github.scope,
                credentials_encrypted=encrypt_json(self.settings, {"token": TOKEN}),
                webhook_secret_encrypted=encrypt_text(
                    self.settings, self.github.emulator.webhook_secret
                ),
            )
            end = today + timedelta(90)
            plan = Plan(workspace_id=workspace.id, name="Q", start_date=today, end_date=end)
            goal = Goal(workspace_id=workspace.id, plan_id=plan.id, title="G", owner_id=person.id)
            for row in (workspace, person, connection, plan, goal):
                session.add(row)
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
                for _ in external_ids
            ]
            session.add_all(items)
            session.flush()
            rows = [
                {
                    "id": uuid.uuid4(),
                    "workspace_id": workspace.id,
                    "connection_id": connection.id,
                    "kind": "item",
                    "item_id": item.id,
                    "external_id": external_id,
                    "pushed_revision": 1,
                    "pushed_fields": {},
                    "remote_fields": {},
                    "attempts": 0,
                    "dead": False,
                    "created_at": utcnow(),
                }
                for item, external_id in zip(items, external_ids, strict=True)
            ]
            for start in range(0, len(rows), 5000):
                session.execute(insert(ExternalLink), rows[start : start + 5000])
            session.commit()
            return connection.id

    def settle(self) -> None:
        """Read everything once (50 pages per pass) and let the poll settle on a 304."""
        while pull_connection(self.context, self.connection_id).get("pages", 0) > 1:
            pass
        self.github.advance_clock(60)
        pull_connection(self.context, self.connection_id)

    def calls_of_a_pass(self) -> tuple[list[int], dict[str, int]]:
        log = self.github.emulator.request_log
        before = len(log)
        counts = pull_connection(self.context, self.connection_id)
        return [status for _, _, status in log[before:]], counts

    def close(self) -> None:
        self.context.close()
        self.github.close()
        self.engine.dispose()


def changes_pass(url: str, population: int, changed: int) -> None:
    setup = Setup(url, population)
    setup.settle()
    setup.github.advance_clock(60)
    for ref in setup.refs[:changed]:
        setup.github.person_sets_status(RemoteRef(ref.external_id), RemoteStatus.done)
    setup.github.advance_clock(1)
    started = time.perf_counter()
    statuses, counts = setup.calls_of_a_pass()
    elapsed = time.perf_counter() - started
    print(f"population {population}, changed {changed}")
    print(
        f"pass with changes: {len(statuses)} tracker calls, {elapsed * 1000:.0f} ms, "
        f"applied {counts.get('applied')}"
    )
    setup.github.advance_clock(60)  # past the connector's lookback window
    setup.calls_of_a_pass()
    setup.github.advance_clock(60)
    quiet, _ = setup.calls_of_a_pass()
    print(f"pass with nothing changed: {len(quiet)} call(s), statuses {quiet}")
    setup.close()


def burst_polls(url: str, population: int, burst: int) -> None:
    setup = Setup(url, population)
    setup.settle()
    setup.github.advance_clock(60)
    for ref in setup.refs[:burst]:
        setup.github.person_sets_status(RemoteRef(ref.external_id), RemoteStatus.done)
    setup.github.advance_clock(1)
    reading, counts = setup.calls_of_a_pass()
    print(f"burst of {burst} changes ({population} linked issues)")
    print(f"  pass reading it: {len(reading)} call(s), applied {counts.get('applied')}")
    for number in (1, 2, 3):
        setup.github.advance_clock(60)
        quiet, _ = setup.calls_of_a_pass()
        shown = quiet if len(quiet) <= 12 else f"{quiet[:3]}..."
        print(f"  quiet poll {number}: {len(quiet)} call(s), statuses {shown}")
    setup.close()


def quiet_pass_time(url: str, backend: str, links: int) -> None:
    setup = Setup(url, 20, links)
    setup.settle()
    timings = []
    for _ in range(QUIET_PASSES):
        started = time.perf_counter()
        statuses, _ = setup.calls_of_a_pass()
        timings.append(time.perf_counter() - started)
        assert statuses == [304], statuses
    median = statistics.median(timings) * 1000
    scopes = []
    distinct = []
    with Session(setup.engine) as session:
        connection = session.get(Connection, setup.connection_id)
        assert connection is not None
        for _ in range(QUIET_PASSES):
            started = time.perf_counter()
            scopes_of(session, connection)
            scopes.append(time.perf_counter() - started)
            # What a pass ran before connection_scope: every link of the connection read.
            started = time.perf_counter()
            session.execute(
                select(col(ExternalLink.scope))
                .where(col(ExternalLink.connection_id) == connection.id)
                .distinct()
            ).all()
            distinct.append(time.perf_counter() - started)
    print(
        f"{backend}: {links:,} links: quiet pass median {median:.2f} ms (304 each); "
        f"scopes_of {statistics.median(scopes) * 1000:.3f} ms; "
        f"the former SELECT DISTINCT scope {statistics.median(distinct) * 1000:.3f} ms"
    )
    setup.close()


if __name__ == "__main__":
    main()
