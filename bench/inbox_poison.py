"""Inbox poison: 1% unusable deliveries mixed into 10,000 valid ones from 5 workspaces, PostgreSQL.

    python bench/inbox_poison.py                          # 10,000 valid, 1% poison, 5 workspaces
    python bench/inbox_poison.py --valid 2000 --workspaces 2 --repeat 1

Each run has its own scratch database, set up alike: ``planbridge serve --no-worker``, and per
workspace a GitHub connection on its own GitHub emulator with 20 issues pushed by a worker, which
is then stopped. The deliveries (signed ``issues.edited`` bodies carrying those issues, as GitHub
sends them, with fresh delivery ids, the workspaces interleaved) are POSTed to the running server
until the inbox holds them all; then one ``planbridge worker`` drains it. The drain rate is the
deliveries processed divided by the time from the first to the last ``processed_at``, so the
worker's start-up is not counted; the worker's CPU seconds (start-up included) are printed too,
since other work on a shared machine moves them far less than wall time.

A clean run (valid deliveries only) and a poisoned run (the same plus 1% poison, spread at random
through the arrival order) alternate ``--repeat`` times. Poison is what a tracker or a proxy could
sign but planbridge cannot use, the kinds that stalled the inbox in issue #13: an issue whose
``updated_at`` is not ISO 8601, a body nested 50,000 deep (``RecursionError`` in the JSON
decoder), a JSON list, an issue number given as text.

Checks, per run: every valid delivery processed exactly once (``processed_at`` set, one attempt,
not dead), every poison delivery dead with its error, nothing left pending; at the end, the
poisoned drain rate against the clean one (the target: at most 10% slower).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.production_support import (
    conninfo,
    planbridge_env,
    run_cli,
    scratch_database,
    start_process,
    start_server,
    stop_process,
)
from tests.production.github_setup import WEBHOOK_SECRET, create_github_connection, seed_plan
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.server import free_port

ITEMS_PER_WORKSPACE = 20
POISON_KINDS = ("non-iso-updated_at", "deep-nesting", "json-list", "text-number")


@dataclass(frozen=True)
class Delivery:
    connection_id: str
    delivery_id: str
    body: bytes
    poison: bool


@dataclass
class RunResult:
    label: str
    valid: int
    poison: int
    drain_seconds: float
    checks: str
    ok: bool
    worker_cpu: float = 0.0  # CPU seconds of the worker process, start-up included

    @property
    def rate(self) -> float:
        total = self.valid + self.poison
        return total / self.drain_seconds if self.drain_seconds else float("nan")


def issue_payloads(harness: GitHubHarness) -> list[dict[str, Any]]:
    emulator = harness.emulator
    with emulator.lock:
        issues = [i for i in emulator.repository.issues.values() if not i.is_pull_request]
        return [
            {
                "action": "edited",
                "issue": emulator.formats.issue(emulator.repository, issue),
                "repository": emulator.formats.repository(emulator.repository),
                "sender": emulator.formats.user("octocat"),
            }
            for issue in issues
        ]


def poison_body(kind: str, payload: dict[str, Any]) -> bytes:
    if kind == "deep-nesting":
        return b"[" * 50_000 + b"]" * 50_000
    if kind == "json-list":
        return b"[1,2,3]"
    broken = json.loads(json.dumps(payload))
    if kind == "non-iso-updated_at":
        broken["issue"]["updated_at"] = "last Tuesday, around noon"
    else:
        broken["issue"]["number"] = str(broken["issue"]["number"])
    return json.dumps(broken, separators=(",", ":")).encode()


def build_deliveries(
    connections: list[tuple[str, list[dict[str, Any]]]], valid: int, poison: int, seed: int
) -> list[Delivery]:
    """``valid`` deliveries round-robin over the workspaces, ``poison`` ones spread at random."""
    chooser = random.Random(seed)
    deliveries = []
    for number in range(valid):
        connection_id, payloads = connections[number % len(connections)]
        payload = payloads[(number // len(connections)) % len(payloads)]
        body = json.dumps(payload, separators=(",", ":")).encode()
        deliveries.append(Delivery(connection_id, str(uuid.uuid4()), body, False))
    for number in range(poison):
        connection_id, payloads = connections[number % len(connections)]
        kind = POISON_KINDS[number % len(POISON_KINDS)]
        body = poison_body(kind, payloads[0])
        position = chooser.randrange(len(deliveries) + 1)
        deliveries.insert(position, Delivery(connection_id, str(uuid.uuid4()), body, True))
    return deliveries


async def post_all(port: int, deliveries: list[Delivery], concurrency: int) -> list[int]:
    """POST every delivery (signed as GitHub signs) with ``concurrency`` connections; resent on a
    transport error, as a tracker redelivers (the delivery id makes that a no-op once stored)."""
    statuses = [0] * len(deliveries)
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
    ) as client:

        async def drive() -> None:
            nonlocal next_index
            while next_index < len(deliveries):
                index = next_index
                next_index += 1
                delivery = deliveries[index]
                digest = hmac.new(WEBHOOK_SECRET.encode(), delivery.body, hashlib.sha256)
                headers = {
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "issues",
                    "X-GitHub-Delivery": delivery.delivery_id,
                    "X-Hub-Signature-256": "sha256=" + digest.hexdigest(),
                }
                for attempt in range(3):  # a keep-alive connection the server closed: resend
                    try:
                        response = await client.post(
                            f"/webhooks/{delivery.connection_id}",
                            content=delivery.body,
                            headers=headers,
                        )
                    except httpx.TransportError:
                        if attempt == 2:
                            raise
                        continue
                    statuses[index] = response.status_code
                    break

        await asyncio.gather(*(drive() for _ in range(concurrency)))
    return statuses


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads): a figure other work on the machine moves
    far less than wall time."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(url: str, query: str, done: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(conninfo(url)) as db:
            row = db.execute(query).fetchone()
        if done(row) or time.monotonic() > deadline:
            return row
        time.sleep(0.5)


def check(url: str, deliveries: list[Delivery]) -> tuple[str, bool, float]:
    """Exactly-once for the valid deliveries, dead with an error for the poison; the drain time."""
    with psycopg.connect(conninfo(url)) as db:
        rows = db.execute(
            "SELECT delivery_id, processed_at IS NOT NULL, attempts, dead, last_error "
            "FROM webhook_delivery"
        ).fetchall()
        first, last = db.execute(
            "SELECT MIN(processed_at), MAX(processed_at) FROM webhook_delivery"
        ).fetchone() or (None, None)
    by_id = {row[0]: row for row in rows}
    valid = [d.delivery_id for d in deliveries if not d.poison]
    poison = [d.delivery_id for d in deliveries if d.poison]
    missing = sum(1 for d in deliveries if d.delivery_id not in by_id)
    valid_not_once = sum(1 for i in valid if i not in by_id or by_id[i][1:4] != (True, 1, False))
    poison_not_dead = sum(
        1 for i in poison if i in by_id and not (by_id[i][1] and by_id[i][3] and by_id[i][4])
    )
    pending = sum(1 for row in rows if not row[1])
    attempts = sorted({by_id[i][2] for i in poison if i in by_id})
    ok = not (missing or valid_not_once or poison_not_dead or pending) and len(rows) == len(
        deliveries
    )
    verdict = (
        f"{'PASS' if ok else 'FAIL'}: stored {len(rows)} of {len(deliveries)}, "
        f"valid not processed exactly once {valid_not_once}, poison not dead {poison_not_dead} "
        f"(attempts of the dead: {attempts or '-'}), pending {pending}"
    )
    seconds = (last - first).total_seconds() if first and last else 0.0
    return verdict, ok, seconds


def one_run(args: argparse.Namespace, poisoned: bool, run_number: int) -> RunResult:
    label = "poisoned" if poisoned else "clean"
    logs = Path(tempfile.mkdtemp(prefix=f"planbridge-inbox-poison-{label}-"))
    harnesses = [GitHubHarness() for _ in range(args.workspaces)]
    processes = []
    try:
        with scratch_database("pb_bench_poison") as url:
            env = planbridge_env(url, PLANBRIDGE_LOG_LEVEL="WARNING")
            run_cli(env, "migrate")
            port = free_port()
            processes.append(start_server(env, port, logs / "serve.log"))
            api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            connections = []
            for number, harness in enumerate(harnesses):
                token = run_cli(
                    env, "token", "create", "--workspace", f"bench-{number}", "--scope", "admin"
                )
                headers = {"Authorization": f"Bearer {token}"}
                connection = create_github_connection(api, headers, harness.base_url, harness.scope)
                seed_plan(api, headers, connection["id"], WEBHOOK_SECRET, ITEMS_PER_WORKSPACE)
                connections.append(connection["id"])
            worker = start_process(env, logs / "setup-worker.log", "worker")
            pushed = wait_for(
                url,
                "SELECT COUNT(*) FROM external_link WHERE external_id IS NOT NULL",
                lambda row: row[0] >= ITEMS_PER_WORKSPACE * args.workspaces,
                180,
            )
            stop_process(worker)
            if pushed[0] < ITEMS_PER_WORKSPACE * args.workspaces:
                raise RuntimeError(f"only {pushed[0]} items were pushed; see {logs}")
            poison = round(args.valid * args.poison_percent / 100) if poisoned else 0
            deliveries = build_deliveries(
                [(c, issue_payloads(h)) for c, h in zip(connections, harnesses, strict=True)],
                args.valid,
                poison,
                seed=run_number,
            )
            started = time.monotonic()
            statuses = asyncio.run(post_all(port, deliveries, args.concurrency))
            filled = time.monotonic() - started
            refused = sum(1 for status in statuses if status != 202)
            if refused:
                raise RuntimeError(f"{refused} deliveries were not accepted: {set(statuses)}")
            load_before = os.getloadavg()[0]
            worker = start_process(
                env, logs / "worker.log", "worker", "--concurrency", str(args.worker_threads)
            )
            processes.append(worker)
            wait_for(
                url,
                "SELECT COUNT(*) FROM webhook_delivery WHERE processed_at IS NULL",
                lambda row: row[0] == 0,
                args.drain_timeout,
            )
            load_after = os.getloadavg()[0]
            worker_cpu = process_cpu_seconds(worker.pid)
            verdict, ok, seconds = check(url, deliveries)
            result = RunResult(label, args.valid, poison, seconds, verdict, ok, worker_cpu)
            print(
                f"{label:>8} run {run_number}: {args.valid} valid + {poison} poison from "
                f"{args.workspaces} workspaces, filled in {filled:.1f} s; drained in "
                f"{seconds:.1f} s = {result.rate:.0f} deliveries/s, worker CPU {worker_cpu:.1f} s "
                f"(load {load_before:.1f} -> {load_after:.1f})\n{'':>10}{verdict}",
                flush=True,
            )
            return result
    finally:
        for process in processes:
            stop_process(process)
        for harness in harnesses:
            harness.close()


def run(args: argparse.Namespace) -> int:
    print(
        f"inbox poison: {args.valid} valid deliveries, {args.poison_percent}% poison, "
        f"{args.workspaces} workspaces; planbridge worker --concurrency {args.worker_threads} "
        f"on PostgreSQL; {args.repeat} clean and {args.repeat} poisoned run(s), alternating"
    )
    results: list[RunResult] = []
    for number in range(args.repeat):
        results.append(one_run(args, poisoned=False, run_number=number))
        results.append(one_run(args, poisoned=True, run_number=number))
    clean = statistics.median(r.rate for r in results if r.label == "clean")
    poisoned = statistics.median(r.rate for r in results if r.label == "poisoned")
    ratio = poisoned / clean
    within = ratio >= 0.90  # poison may not slow the drain by more than 10%
    clean_cpu = statistics.median(r.worker_cpu for r in results if r.label == "clean")
    poisoned_cpu = statistics.median(r.worker_cpu for r in results if r.label == "poisoned")
    print(
        f"median drain rate: clean {clean:.0f}/s, poisoned {poisoned:.0f}/s "
        f"({ratio:.1%} of clean: {'within' if within else 'NOT within'} 10%); median worker CPU: "
        f"clean {clean_cpu:.1f} s, poisoned {poisoned_cpu:.1f} s; "
        f"all checks {'PASS' if all(r.ok for r in results) else 'FAIL'}"
    )
    return 0 if within and all(r.ok for r in results) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--valid", type=int, default=10_000)
    parser.add_argument("--poison-percent", type=float, default=1.0)
    parser.add_argument("--workspaces", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2, help="clean/poisoned pairs of runs")
    parser.add_argument("--concurrency", type=int, default=32, help="connections posting")
    parser.add_argument("--worker-threads", type=int, default=2, help="worker --concurrency")
    parser.add_argument("--drain-timeout", type=float, default=600)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
