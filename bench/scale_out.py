"""Scale-out: 1, 2 and 4 ``planbridge worker`` processes on PostgreSQL pushing to a slow tracker.

    python bench/scale_out.py                 # 200 items per run, 50 ms per tracker call
    python bench/scale_out.py --items 100 --workers 1,4
    python bench/scale_out.py --worker-args="--concurrency 1"   # single-threaded processes

Each run: a scratch PostgreSQL database, ``planbridge serve --no-worker`` for the API, a memory-
tracker connection whose store is a file shared by the processes (``store_path``) with 50 ms added
to every call and no write limit (so the tracker's own pacing does not bind), ``--items`` action
items created through the API, then N worker processes started together. Throughput is items
created in the tracker per second of wall time; afterwards every item must exist exactly once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.production_support import (
    admin_token,
    conninfo,
    planbridge_env,
    run_cli,
    scratch_database,
    start_process,
    start_server,
    stop_process,
)
from connectors.memory_store import MemoryTracker
from tests.production.github_setup import add_item, seed_plan
from tests.trackers.server import free_port

STARTUP_SECONDS = 10.0


def one_run(
    workers: int, items: int, latency: float, logs: Path, worker_args: list[str]
) -> tuple[float, int, int]:
    """(seconds until every item is linked, items in the tracker, items created more than once)."""
    store_name = uuid.uuid4().hex
    store_path = str(logs / f"tracker-{store_name}.sqlite")
    with scratch_database("pb_bench_scale") as url:
        env = planbridge_env(url, PLANBRIDGE_LOG_LEVEL="WARNING")
        run_cli(env, "migrate")
        token = admin_token(env)
        port = free_port()
        server = start_server(env, port, logs / f"serve-{workers}.log")
        worker_processes = []
        try:
            api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            headers = {"Authorization": f"Bearer {token}"}
            response = api.post(
                "/api/v1/connections",
                json={
                    "kind": "memory",
                    "name": "slow tracker",
                    "base_url": f"memory://{store_name}",
                    "scope": "TEAM",
                    "credentials": {"token": "good"},
                    "config": {"store_path": store_path, "latency_seconds": latency},
                },
                headers=headers,
            )
            assert response.status_code == 201, response.text
            connection_id = response.json()["id"]
            # Paused while the items are created and the workers start (process start-up is not
            # what is measured); resuming releases all the work at once.
            with psycopg.connect(conninfo(url)) as db:
                db.execute("UPDATE connection SET state = 'paused', paused_reason = 'bench'")
            setup = seed_plan(api, headers, connection_id, "", items=0)
            for index in range(items):
                add_item(api, headers, setup, f"Step {index}")
            worker_processes = [
                start_process(env, logs / f"worker-{workers}-{n}.log", "worker", *worker_args)
                for n in range(workers)
            ]
            time.sleep(STARTUP_SECONDS)
            started = time.monotonic()
            resumed = api.post(f"/api/v1/connections/{connection_id}/resume", headers=headers)
            assert resumed.status_code == 200, resumed.text
            deadline = started + 600
            while time.monotonic() < deadline:
                with psycopg.connect(conninfo(url)) as db:
                    row = db.execute(
                        "SELECT COUNT(*) FROM external_link "
                        "WHERE item_id IS NOT NULL AND external_id IS NOT NULL"
                    ).fetchone()
                if row and row[0] >= items:
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - started
        finally:
            for process in worker_processes:
                stop_process(process)
            stop_process(server)
        tracker = MemoryTracker(store_name, store_path)
        counts = tracker.marker_counts()
        created = tracker.object_count("TEAM")
        duplicated = sum(1 for count in counts.values() if count > 1)
        return elapsed, created, duplicated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--worker-args",
        default="",
        help="extra options for each `planbridge worker` (default: its own defaults)",
    )
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="planbridge-scale-out-"))
    print(
        f"{args.items} items, {args.latency * 1000:.0f} ms per tracker call, "
        f"worker options {args.worker_args or '(defaults)'}; logs in {logs}"
    )
    throughput: dict[int, float] = {}
    clean = True
    for workers in [int(value) for value in args.workers.split(",")]:
        seconds, created, duplicated = one_run(
            workers, args.items, args.latency, logs, args.worker_args.split()
        )
        throughput[workers] = created / seconds
        clean = clean and created == args.items and duplicated == 0
        print(
            f"{workers} worker process(es): {seconds:6.1f} s, {throughput[workers]:6.1f} items/s, "
            f"created {created} of {args.items}, created twice {duplicated}",
            flush=True,
        )
    low, high = min(throughput), max(throughput)
    ratio = throughput[high] / throughput[low]
    print(f"speed-up {low} -> {high} workers: {ratio:.2f}x")
    print("PASS" if ratio >= 3 and clean else "FAIL", "(target: >= 3x, every item created once)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
