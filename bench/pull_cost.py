"""Pull cost of the sync engine: 10,000 linked GitHub issues, 10 changed, against the emulator.

    python -m bench.pull_cost [--population 10000] [--changed 10]

Prints the tracker calls and the wall time of one engine pull pass (SQLite, embedded mode) when
``--changed`` issues changed, and the calls of a pass when nothing changed (aim: one 304).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session, SQLModel

import app.models  # noqa: F401  (every table on the metadata)
from app.crypto import encrypt_json, encrypt_text
from app.db import make_engine
from app.models import ActionItem, Connection, ExternalLink, Goal, Person, Plan, Workspace
from app.settings import Settings
from connectors.base import RemoteRef, RemoteStatus
from sync.context import EngineContext
from sync.pull import pull_connection
from tests.trackers.github.harness import TOKEN, GitHubHarness


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=10)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        run(Path(directory), arguments.population, arguments.changed)


def run(directory: Path, population: int, changed: int) -> None:
    url = f"sqlite:///{directory / 'bench.db'}"
    settings = Settings(
        database_url=url, secret_key="bench-secret-key-0123456789", embedded_worker=False
    )  # type: ignore[arg-type]
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    github = GitHubHarness()
    refs = github.seed_items(population)
    with Session(engine) as session:
        workspace = Workspace(name="bench")
        person = Person(workspace_id=workspace.id, name="Octo", identities={"github": "octocat"})
        connection = Connection(
            workspace_id=workspace.id,
            name="GitHub",
            kind="github",
            base_url=github.base_url,
            scope=github.scope,
            credentials_encrypted=encrypt_json(settings, {"token": TOKEN}),
            webhook_secret_encrypted=encrypt_text(settings, github.emulator.webhook_secret),
        )
        today = date.today()
        plan = Plan(
            workspace_id=workspace.id, name="Q", start_date=today, end_date=today + timedelta(90)
        )
        goal = Goal(workspace_id=workspace.id, plan_id=plan.id, title="G", owner_id=person.id)
        for row in (workspace, person, connection, plan, goal):
            session.add(row)
            session.flush()  # no ORM relationships: insert parents first
        for ref in refs:
            item = ActionItem(
                workspace_id=workspace.id,
                goal_id=goal.id,
                title="x",
                owner_id=person.id,
                due_date=today,
                estimate_hours=1,
            )
            session.add(item)
            session.flush()
            session.add(
                ExternalLink(
                    workspace_id=workspace.id,
                    connection_id=connection.id,
                    item_id=item.id,
                    external_id=ref.external_id,
                    pushed_revision=1,
                )
            )
        session.commit()
        connection_id = connection.id
    context = EngineContext(engine, settings, worker_id="bench")
    # The first passes read everything (50 pages each) and leave the cursor at the newest change.
    while pull_connection(context, connection_id).get("pages", 0) > 1:
        pass
    github.advance_clock(60)
    for ref in refs[:changed]:
        github.person_sets_status(RemoteRef(ref.external_id), RemoteStatus.done)
    github.advance_clock(1)
    log = github.emulator.request_log
    before = len(log)
    started = time.perf_counter()
    counts = pull_connection(context, connection_id)
    elapsed = time.perf_counter() - started
    calls = log[before:]
    print(f"population {population}, changed {changed}")
    print(
        f"pass with changes: {len(calls)} tracker calls, {elapsed * 1000:.0f} ms, "
        f"applied {counts.get('applied')}"
    )
    github.advance_clock(60)  # past the connector's lookback window
    pull_connection(context, connection_id)
    before = len(log)
    github.advance_clock(60)
    pull_connection(context, connection_id)
    quiet = log[before:]
    print(f"pass with nothing changed: {len(quiet)} call(s), statuses {[s for _, _, s in quiet]}")
    context.close()
    github.close()


if __name__ == "__main__":
    main()
