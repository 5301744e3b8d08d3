"""Faults: PostgreSQL restarted mid-sync, a worker sent SIGTERM mid-step, a slow tracker.

    python bench/faults.py                        # all three scenarios
    python bench/faults.py --scenarios sigterm,slow   # without restarting PostgreSQL

Each scenario: a scratch PostgreSQL database, ``planbridge serve --no-worker`` for the API,
``planbridge worker`` processes, and memory-tracker connections whose store is a file shared by
the processes (``store_path``) with a latency per call. Every scenario prints its figures and a
verdict.

- ``restart``: 2 workers push 150 items to a 20 ms tracker; when a third are created, PostgreSQL is
  restarted (``pg_ctlcluster ... restart``; it stops every server connection, so other test runs
  on this server see errors too: run it once). Pass: without any process restarted, the API
  answers again and accepts a new item, and every item (the new one too) is created exactly once.
- ``sigterm``: a worker pushes to a tracker that takes 1 s per call; SIGTERM arrives mid-push.
  Pass: it exits 0 within its step (a few seconds), no create is left uncertain (a link with a
  create started and no tracker id), and a second worker finishes the rest with no duplicate.
- ``slow``: one ``planbridge worker`` with its default settings (4 threads, at most 1 of them in
  one connection's tracker calls); connection A's tracker takes 4 s per call (as one timing out
  would), connection B's answers at once; A's 12 items are queued before B's 12.
  Pass: B's items are all created while A is still being worked through, and A's all get created
  too, each once (``--slow-args="--concurrency 1"`` shows what a single thread does).
"""

from __future__ import annotations

import argparse
import glob
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

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


class Setup:
    """API, token and helpers on one scratch database."""

    def __init__(self, url: str, logs: Path, name: str) -> None:
        self.url = url
        self.logs = logs
        self.env = planbridge_env(url, PLANBRIDGE_LOG_LEVEL="WARNING")
        run_cli(self.env, "migrate")
        token = admin_token(self.env)
        port = free_port()
        self.server = start_server(self.env, port, logs / f"serve-{name}.log")
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.workers: list[subprocess.Popen[bytes]] = []
        self.name = name

    def connection(self, latency: float) -> tuple[str, MemoryTracker]:
        store = uuid.uuid4().hex
        path = str(self.logs / f"tracker-{store}.sqlite")
        response = self.api.post(
            "/api/v1/connections",
            json={
                "kind": "memory",
                "name": f"tracker {store[:6]}",
                "base_url": f"memory://{store}",
                "scope": "TEAM",
                "credentials": {"token": "good"},
                "config": {"store_path": path, "latency_seconds": latency},
            },
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()["id"], MemoryTracker(store, path)

    def items(self, connection_id: str, count: int) -> Any:
        setup = seed_plan(self.api, self.headers, connection_id, "", items=0)
        for index in range(count):
            setup.item_ids.append(add_item(self.api, self.headers, setup, f"Item {index}"))
        return setup

    def worker(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"worker-{self.name}-{len(self.workers)}.log"
        process = start_process(self.env, log, "worker", *args)
        self.workers.append(process)
        return process

    def query(self, sql: str) -> Any:
        with psycopg.connect(conninfo(self.url)) as db:
            row = db.execute(sql).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        for process in self.workers:
            stop_process(process)
        stop_process(self.server)


def _created_once(tracker: MemoryTracker) -> tuple[int, int]:
    counts = tracker.marker_counts()
    return len(counts), sum(1 for count in counts.values() if count > 1)


def _wait(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (psycopg.Error, httpx.HTTPError):
            pass
        time.sleep(0.25)
    return False


def restart_postgres() -> None:
    version = Path(sorted(glob.glob("/etc/postgresql/*"))[-1]).name
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=60,
    )


def scenario_restart(logs: Path) -> bool:
    with scratch_database("pb_bench_faults") as url:
        setup = Setup(url, logs, "restart")
        try:
            connection_id, tracker = setup.connection(0.02)
            setup.items(connection_id, 150)
            setup.worker()
            setup.worker()
            _wait(lambda: _created_once(tracker)[0] >= 50, 120)
            before = _created_once(tracker)[0]
            started = time.monotonic()
            restart_postgres()
            print(f"restart: PostgreSQL restarted with {before} of 150 created", flush=True)

            def api_back() -> bool:
                return setup.api.get("/readyz").status_code == 200

            api_ok = _wait(api_back, 60)
            api_seconds = time.monotonic() - started
            plan = setup.items(connection_id, 1)
            done = _wait(lambda: _created_once(tracker)[0] >= 151, 180)
            created, twice = _created_once(tracker)
            alive = all(process.poll() is None for process in setup.workers)
            verdict = api_ok and done and twice == 0 and alive and bool(plan.item_ids)
            print(
                f"restart: API ready again after {api_seconds:.1f} s; created {created} of 151 "
                f"(one added after the restart), created twice {twice}, workers still running: "
                f"{alive} -> {'PASS' if verdict else 'FAIL'}",
                flush=True,
            )
            return verdict
        finally:
            setup.close()


def scenario_sigterm(logs: Path) -> bool:
    with scratch_database("pb_bench_faults") as url:
        setup = Setup(url, logs, "sigterm")
        try:
            connection_id, tracker = setup.connection(1.0)
            setup.items(connection_id, 6)
            first = setup.worker()
            _wait(lambda: _created_once(tracker)[0] >= 1, 60)
            time.sleep(0.5)  # mid-call to the tracker
            sent = time.monotonic()
            first.send_signal(signal.SIGTERM)
            code = first.wait(60)
            exit_seconds = time.monotonic() - sent
            uncertain = setup.query(
                "SELECT COUNT(*) FROM external_link WHERE create_started_at IS NOT NULL "
                "AND external_id IS NULL"
            )
            at_stop = _created_once(tracker)[0]
            setup.worker()
            done = _wait(lambda: _created_once(tracker)[0] >= 6, 120)
            created, twice = _created_once(tracker)
            verdict = code == 0 and uncertain == 0 and done and twice == 0
            print(
                f"sigterm: worker exited {code} {exit_seconds:.1f} s after SIGTERM with "
                f"{at_stop} created, uncertain creates left {uncertain}; a second worker "
                f"finished: created {created} of 6, twice {twice} -> "
                f"{'PASS' if verdict else 'FAIL'}",
                flush=True,
            )
            return verdict
        finally:
            setup.close()


def scenario_slow(logs: Path, worker_args: tuple[str, ...] = ()) -> bool:
    with scratch_database("pb_bench_faults") as url:
        setup = Setup(url, logs, "slow")
        try:
            slow_id, slow = setup.connection(4.0)
            fast_id, fast = setup.connection(0.0)
            setup.items(slow_id, 12)
            setup.items(fast_id, 12)
            started = time.monotonic()
            setup.worker(*worker_args)
            done = _wait(lambda: _created_once(fast)[0] >= 12, 120)
            fast_seconds = time.monotonic() - started
            slow_at_that_time = _created_once(slow)[0]
            slow_done = _wait(lambda: _created_once(slow)[0] >= 12, 300)
            slow_seconds = time.monotonic() - started
            twice = _created_once(slow)[1] + _created_once(fast)[1]
            verdict = done and slow_at_that_time < 12 and slow_done and twice == 0
            print(
                f"slow (worker {' '.join(worker_args) or 'with default settings'}): the fast "
                f"connection's 12 items were created {fast_seconds:.1f} s after the worker "
                f"started, while the slow one (4 s per call) had {slow_at_that_time} of 12; the "
                f"slow one's 12 were done after {slow_seconds:.1f} s; created twice {twice} -> "
                f"{'PASS' if verdict else 'FAIL'}",
                flush=True,
            )
            return verdict
        finally:
            setup.close()


SCENARIOS = {"sigterm": scenario_sigterm, "slow": scenario_slow, "restart": scenario_restart}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenarios", default="sigterm,slow,restart")
    parser.add_argument(
        "--slow-args",
        default="",
        help='options of the slow scenario\'s `planbridge worker`, e.g. "--concurrency 1" '
        "(default: none, the default settings)",
    )
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="planbridge-faults-"))
    print(f"logs in {logs}")
    results = {
        name: scenario_slow(logs, tuple(args.slow_args.split()))
        if name == "slow"
        else SCENARIOS[name](logs)
        for name in args.scenarios.split(",")
    }
    print(", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
