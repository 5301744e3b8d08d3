"""CPU per webhook delivery in the worker: a filled inbox drained by the engine in this process.

    python bench/webhook_worker_cpu.py                          # 10,000 deliveries, 3 rounds
    python bench/webhook_worker_cpu.py --profile 25             # and the 25 costliest functions
    python bench/webhook_worker_cpu.py --per-step 50            # whole worker steps of 50

The counterpart of bench/webhook_route_cpu.py for the processing side. A scratch PostgreSQL
database, a GitHub connection on the GitHub emulator with 20 pushed issues (as in
bench/webhook_load.py), then per round ``--deliveries`` signed-and-stored ``issues.edited``
deliveries about those issues written straight into the inbox (one SQL insert, no API), drained by
``SyncEngine.process_deliveries`` in this thread. Prints the CPU of this process per delivery
drained (the engine's claim, load, parse, apply and mark processed; PostgreSQL's CPU is not in it)
and the SQL statements sent per delivery. The machine's load moves CPU time far less than wall
time, so the figure compares across runs; ``--profile N`` adds a cProfile of one more round, timed
by process CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import make_engine
from app.main import create_app
from app.migrations.runner import upgrade
from app.models import Scope
from app.observability.logging import configure_logging
from app.services.tokens import get_or_create_workspace, issue_token
from app.settings import Settings
from bench.production_support import SECRET_KEY, conninfo, scratch_database
from bench.webhook_load import _issue_payloads
from sync.context import EngineContext
from sync.engine import SyncEngine
from tests.production.github_setup import WEBHOOK_SECRET, create_github_connection, seed_plan
from tests.trackers.github.harness import GitHubHarness


def _fill_inbox(url: str, connection_id: str, payloads: list[bytes], count: int) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as db:
        row = db.execute("SELECT workspace_id FROM connection WHERE id = %s", (connection_id,))
        workspace_id = row.fetchone()[0]  # type: ignore[index]
        headers = json.dumps(
            {
                "x-github-event": "issues",
                "content-type": "application/json",
                "user-agent": "GitHub-Hookshot/bench",
            }
        )
        now = datetime.now(UTC)
        rows = [
            (
                uuid.uuid4(),
                workspace_id,
                connection_id,
                str(uuid.uuid4()),
                now,
                headers,
                payloads[index % len(payloads)],
            )
            for index in range(count)
        ]
        # Older schemas (the same bench run on an older commit) have no ``dead`` column.
        has_dead = db.execute(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'webhook_delivery' AND column_name = 'dead'"
        ).fetchone()
        columns, values = ("attempts, dead", "0, false") if has_dead else ("attempts", "0")
        with db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO webhook_delivery (id, workspace_id, connection_id, delivery_id, "
                f"received_at, headers, body, {columns}) "
                f"VALUES (%s, %s, %s, %s, %s, %s::json, %s, {values})",
                rows,
            )


def _drain(sync_engine: SyncEngine) -> int:
    drained = 0
    while processed := sync_engine.process_deliveries():
        drained += processed
    return drained


def _worker_steps(
    sync_engine: SyncEngine, url: str, connection_id: str, payloads: list[bytes], args: Any
) -> tuple[int, float]:
    """As the worker loop runs under a steady stream: ``--per-step`` deliveries arrive, then one
    whole step and its outbound work (claims, pull, pushes, notifications) takes them. Returns
    the deliveries processed and the CPU seconds of the steps alone (not of filling the inbox)."""
    processed, cpu = 0, 0.0
    for _ in range(args.deliveries // args.per_step):
        _fill_inbox(url, connection_id, payloads, args.per_step)
        started = time.process_time()
        processed += sync_engine.step().deliveries
        sync_engine.run_outbound()
        cpu += time.process_time() - started
    return processed, cpu


def run(args: argparse.Namespace) -> int:
    configure_logging("WARNING")
    harness = GitHubHarness()
    with scratch_database("pb_bench_worker_cpu") as url:
        settings = Settings(
            database_url=url,
            secret_key=SECRET_KEY,  # type: ignore[arg-type]
            allow_private_trackers=True,
            embedded_worker=False,
            log_level="WARNING",
        )
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine) as session:
            workspace = get_or_create_workspace(session, "bench")
            token = issue_token(session, workspace.id, Scope.admin, "bench").token
            session.commit()
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings, engine)) as client:
            connection = create_github_connection(client, headers, harness.base_url, harness.scope)
            seed_plan(client, headers, connection["id"], WEBHOOK_SECRET, items=20)
        context = EngineContext(engine, settings, worker_id="bench-worker")
        sync_engine = SyncEngine(context)
        sync_engine.run_pass()  # pushes the 20 items: the deliveries are about their issues
        payloads = _issue_payloads(harness)
        size = sum(map(len, payloads)) / len(payloads)
        statements = 0

        def count(*_args: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(engine, "before_cursor_execute", count)
        for round_number in range(args.rounds):
            statements = 0
            if args.per_step:
                drained, cpu = _worker_steps(sync_engine, url, connection["id"], payloads, args)
            else:
                _fill_inbox(url, connection["id"], payloads, args.deliveries)
                cpu = time.process_time()
                drained = _drain(sync_engine)
                cpu = time.process_time() - cpu
            print(
                f"round {round_number + 1}: {drained} deliveries of {size:,.0f} bytes drained, "
                f"{cpu / drained * 1e6:.0f} µs CPU each, "
                f"{statements / drained:.2f} SQL statements each"
            )
        if args.profile:
            profile = cProfile.Profile(time.process_time)
            if args.per_step:  # filling the inbox is in this profile
                profile.runcall(_worker_steps, sync_engine, url, connection["id"], payloads, args)
            else:
                _fill_inbox(url, connection["id"], payloads, args.deliveries)
                profile.runcall(_drain, sync_engine)
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.profile)
            print(out.getvalue())
        context.close()
        engine.dispose()
    harness.server.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    parser.add_argument(
        "--per-step",
        type=int,
        default=0,
        help="deliveries per worker step (whole steps, as under a steady stream); 0: one drain",
    )
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative, tottime")
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
