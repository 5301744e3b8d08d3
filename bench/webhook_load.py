"""Webhook load: signed GitHub deliveries at rising rates into ``planbridge serve`` on PostgreSQL.

    python bench/webhook_load.py          # rates 500..3000/s, 10 s each, then a 60 s hold
    python bench/webhook_load.py --rates 500,1000 --step-seconds 5 --hold-seconds 20
    python bench/webhook_load.py --api-workers 2 --senders 2 --worker-after

Setup: a scratch PostgreSQL database, ``planbridge serve --no-worker --workers N``
(``--api-workers``, default 1: on 2 cores shared with PostgreSQL, the worker and the senders, one
API process gathers bigger group commits and used less CPU per delivery than two, and held higher
rates), one ``planbridge worker`` processing deliveries while they arrive (or, with
``--worker-after``, once the load is over), a GitHub connection on the GitHub emulator with 20
pushed issues; deliveries carry those issues, as
GitHub would send them.

Load is open-loop: request i is due at start + i/rate, and its latency counts from that moment, so a
server that falls behind shows it in p99 instead of slowing the sender down. ``--senders`` processes
share the rate; each keeps ``--pool`` keep-alive connections, and a connection that is free takes
the next due request. The sender is as cheap as it can be, since every cycle it spends is taken
from the server it measures: bodies signed once beforehand, a bare asyncio protocol on uvloop that
writes the request and reads only the status line and Content-Length (about 2% of the machine's
CPU at 1,000/s, printed per step as "the senders' share"). 1% of deliveries are sent twice, as
GitHub redelivers.

Per step it prints the achieved rate and latency, the deliveries the worker processed during the
step (the drain rate) and the backlog left, the machine's CPU and the CPU of each role (the API
processes, the worker, this database's PostgreSQL backends, the senders): the machine is shared,
and what the other processes took is the difference. Afterwards: every accepted delivery id is
stored exactly once and processed exactly once (processed_at set, attempts = 1), none is missing,
and the backlog's drain rate after the load (with ``--worker-after``, the whole inbox's).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.production_support import (
    admin_token,
    conninfo,
    percentile,
    planbridge_env,
    run_cli,
    scratch_database,
    start_process,
    stop_process,
)
from tests.production.github_setup import (
    WEBHOOK_SECRET,
    create_github_connection,
    seed_plan,
)
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.server import free_port

P99_TARGET_SECONDS = 0.100


@dataclass
class StepResult:
    rate: float
    seconds: float
    sent: int = 0
    accepted: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    accepted_ids: set[str] = field(default_factory=set)
    sender_cpu: float = 0.0  # CPU seconds the load generator used
    machine_cpu: float = 0.0  # CPU seconds the whole machine used (every process, both cores)
    cpu_by_role: dict[str, float] = field(default_factory=dict)  # CPU seconds (CpuMeter)
    processed: int = 0  # deliveries the worker finished during the step
    backlog: int = 0  # deliveries waiting to be processed when the step ended

    @property
    def achieved(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)

    def line(self, label: str) -> str:
        share = self.sender_cpu / self.machine_cpu if self.machine_cpu else float("nan")
        return (
            f"{label:>6} target {self.rate:6.0f}/s  achieved {self.achieved:7.1f}/s  "
            f"p50 {self.p50 * 1000:6.1f} ms  p99 {self.p99 * 1000:7.1f} ms  "
            f"sent {self.sent}  202 {self.accepted}  errors {self.errors}\n"
            f"{'':>6} processed {self.processed / self.seconds:7.1f}/s during the step, backlog "
            f"{self.backlog} at its end; machine CPU {self.machine_cpu / self.seconds:4.2f} of 2 "
            f"cores, the senders' share {share:.0%}; CPU cores by role: "
            + ", ".join(
                f"{role} {seconds / self.seconds:4.2f}"
                for role, seconds in [*self.cpu_by_role.items(), ("senders", self.sender_cpu)]
            )
            + f"\n{'':>6} {self.cpu_per_delivery()}"
        )

    def cpu_per_delivery(self) -> str:
        """CPU per delivery by role, which the machine's load moves far less than latency: the
        API's and PostgreSQL's per delivery accepted, the worker's per delivery processed."""
        per = {
            "api": self.accepted,
            "postgres": self.accepted,
            "worker": self.processed,
        }
        return "CPU per delivery: " + ", ".join(
            f"{role} {self.cpu_by_role[role] / count * 1e6:.0f} µs"
            for role, count in per.items()
            if count and self.cpu_by_role.get(role)
        )


class Deliveries:
    """Signed ``issues`` deliveries about the pushed issues, each with a fresh delivery id."""

    def __init__(self, connection_id: str, issue_payloads: list[bytes]) -> None:
        self.path = f"/webhooks/{connection_id}"
        self.bodies = [
            (body, "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest())
            for body in issue_payloads
        ]
        self.count = 0

    def request(self, delivery_id: str) -> bytes:
        body, signature = self.bodies[self.count % len(self.bodies)]
        self.count += 1
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
            f"X-GitHub-Event: issues\r\nX-GitHub-Delivery: {delivery_id}\r\n"
            f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that sends a request and reads the status of the answer.

    A bare protocol rather than asyncio streams or httpx: on this 2-core machine every microsecond
    the sender spends is taken from the server it measures.
    """

    def __init__(self) -> None:
        self.transport: Any = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport  # uvloop's transports do not subclass asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        marker = head.find(b"content-length:")
        length = int(head[marker + 15 :].split(b"\r\n", 1)[0]) if marker >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self.buffer[: end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def exchange(self, request: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def _open(port: int) -> _Connection:
    _transport, protocol = await asyncio.get_running_loop().create_connection(
        _Connection, "127.0.0.1", port
    )
    return protocol


async def run_step(
    ports: list[int],
    deliveries: Deliveries,
    rate: float,
    seconds: float,
    pool_size: int,
    start_wall: float,
) -> StepResult:
    """Open-loop: request i is due at start + i / rate; each connection takes the next due one."""
    result = StepResult(rate, seconds)
    connections = [await _open(ports[index % len(ports)]) for index in range(pool_size)]
    # Not loop.time(): uvloop's clock has millisecond resolution.
    clock = time.perf_counter
    total = int(rate * seconds)
    next_number = 0

    async def drive(index: int) -> None:
        nonlocal next_number
        connection = connections[index]
        while next_number < total:
            number = next_number
            next_number += 1
            due = started + number / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            delivery_id = str(uuid.uuid4())
            result.sent += 1
            try:
                status = await connection.exchange(deliveries.request(delivery_id))
                if number % 100 == 0:  # a redelivery: same id, must be stored once
                    await connection.exchange(deliveries.request(delivery_id))
            except (OSError, ConnectionError, ValueError):
                result.errors += 1
                if connection.transport is not None:
                    connection.transport.close()
                connection = connections[index] = await _open(ports[index % len(ports)])
                status = 0
            result.latencies.append(clock() - due)
            if status == 202:
                result.accepted += 1
                result.accepted_ids.add(delivery_id)
            elif status:
                result.errors += 1

    await asyncio.sleep(max(0.0, start_wall - time.time()))
    cpu_before = time.process_time()
    started = clock()
    await asyncio.gather(*(drive(index) for index in range(pool_size)))
    result.seconds = max(seconds, clock() - started)
    result.sender_cpu = time.process_time() - cpu_before
    for connection in connections:
        if connection.transport is not None:
            connection.transport.close()
    return result


@dataclass
class SenderJob:
    port: int
    connection_id: str
    payloads: list[bytes]
    rate: float
    seconds: float
    pool_size: int
    start_wall: float


def send_share(job: SenderJob) -> StepResult:
    """One sender process's share of a step (run in a ``multiprocessing`` pool)."""
    deliveries = Deliveries(job.connection_id, job.payloads)
    step = run_step([job.port], deliveries, job.rate, job.seconds, job.pool_size, job.start_wall)
    try:
        import uvloop  # installed with uvicorn[standard]; a cheaper loop for the sender too

        return uvloop.run(step)
    except ImportError:
        return asyncio.run(step)


def machine_cpu_seconds() -> float:
    """CPU seconds spent so far by the whole machine (all processes, all cores), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds; 0 when it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


@dataclass
class CpuMeter:
    """CPU seconds by role: the API processes, the worker, this database's PostgreSQL backends."""

    url: str
    api_pid: int
    worker_pid: int | None = None

    def snapshot(self) -> dict[str, float]:
        with psycopg.connect(conninfo(self.url)) as db:
            backends = [
                row[0]
                for row in db.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ]
        api = [self.api_pid, *_children(self.api_pid)]
        return {
            "api": sum(_process_cpu(pid) for pid in api),
            "worker": _process_cpu(self.worker_pid) if self.worker_pid else 0.0,
            "postgres": sum(_process_cpu(pid) for pid in backends),
        }


def inbox_counts(url: str) -> tuple[int, int]:
    """(processed, waiting) deliveries in the inbox."""
    with psycopg.connect(conninfo(url)) as db:
        row = db.execute(
            "SELECT COUNT(processed_at), COUNT(*) - COUNT(processed_at) FROM webhook_delivery"
        ).fetchone()
    return (row[0], row[1]) if row else (0, 0)


def run_shared_step(
    pool: Any, senders: int, template: SenderJob, rate: float, seconds: float, meter: CpuMeter
) -> StepResult:
    """A step at ``rate`` split over ``senders`` processes that start together."""
    start_wall = time.time() + 0.5
    jobs = [
        replace(template, rate=rate / senders, seconds=seconds, start_wall=start_wall)
        for _ in range(senders)
    ]
    combined = StepResult(rate, seconds)
    processed_before = inbox_counts(meter.url)[0]
    time.sleep(max(0.0, start_wall - time.time()))
    roles_before = meter.snapshot()
    cpu_before = machine_cpu_seconds()
    parts = pool.map(send_share, jobs)
    combined.machine_cpu = machine_cpu_seconds() - cpu_before
    roles_after = meter.snapshot()
    combined.cpu_by_role = {role: roles_after[role] - roles_before[role] for role in roles_after}
    processed_after, combined.backlog = inbox_counts(meter.url)
    combined.processed = processed_after - processed_before
    for part in parts:
        combined.sent += part.sent
        combined.accepted += part.accepted
        combined.errors += part.errors
        combined.latencies += part.latencies
        combined.accepted_ids |= part.accepted_ids
        combined.sender_cpu += part.sender_cpu
    combined.seconds = max(part.seconds for part in parts)
    return combined


def _issue_payloads(harness: GitHubHarness) -> list[bytes]:
    emulator = harness.emulator
    payloads = []
    with emulator.lock:
        issues = [
            issue for issue in emulator.repository.issues.values() if not issue.is_pull_request
        ]
        for issue in issues:
            payload = {
                "action": "edited",
                "issue": emulator.formats.issue(emulator.repository, issue),
                "repository": emulator.formats.repository(emulator.repository),
                "sender": emulator.formats.user("octocat"),
            }
            payloads.append(json.dumps(payload, separators=(",", ":")).encode())
    return payloads


def _wait_for_first_processed(url: str, timeout: float = 60) -> None:
    processed = inbox_counts(url)[0]
    deadline = time.monotonic() + timeout
    while inbox_counts(url)[0] == processed and time.monotonic() < deadline:
        time.sleep(0.02)


def _wait_for_pushes(url: str, expected: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(conninfo(url)) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM external_link WHERE external_id IS NOT NULL"
            ).fetchone()
        if row and row[0] >= expected:
            return
        time.sleep(0.5)
    raise RuntimeError("the worker did not push the seeded items in time")


def wait_for_drain(url: str, timeout: float) -> None:
    """Wait until the worker has processed every delivery (or ``timeout`` passes)."""
    started = time.monotonic()
    backlog = inbox_counts(url)[1]
    while backlog and time.monotonic() - started < timeout:
        time.sleep(0.5)
        backlog = inbox_counts(url)[1]
    if time.monotonic() - started > 1:
        print(f"{'':>6} (waited {time.monotonic() - started:.0f} s for the backlog to drain)")


def verify(url: str, accepted_ids: set[str], timeout: float) -> str:
    """Wait until the inbox is drained, then check exactly-once storage and processing."""
    deadline = time.monotonic() + timeout
    pending = -1
    while time.monotonic() < deadline:
        with psycopg.connect(conninfo(url)) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM webhook_delivery WHERE processed_at IS NULL"
            ).fetchone()
        pending = row[0] if row else 0
        if pending == 0:
            break
        time.sleep(1)
    with psycopg.connect(conninfo(url)) as db:
        rows = db.execute(
            "SELECT delivery_id, processed_at IS NOT NULL, attempts FROM webhook_delivery"
        ).fetchall()
    stored = [row[0] for row in rows]
    stored_ids = set(stored)
    missing = accepted_ids - stored_ids
    duplicates = len(stored) - len(stored_ids)
    unprocessed = sum(1 for row in rows if not row[1])
    not_once = sum(1 for row in rows if row[1] and row[2] != 1)
    verdict = (
        "PASS" if not missing and not duplicates and not unprocessed and not not_once else "FAIL"
    )
    return (
        f"{verdict}: accepted {len(accepted_ids)}, stored {len(stored)}, missing {len(missing)}, "
        f"stored twice {duplicates}, unprocessed {unprocessed}, "
        f"processed other than once {not_once}"
    )


def _start_api(env: dict[str, str], port: int, processes: int, log_path: Path) -> Any:
    """``planbridge serve --no-worker --workers N``, waited for until /healthz answers."""
    server = start_process(
        env, log_path, "serve", "--no-worker", "--port", str(port), "--workers", str(processes)
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"planbridge serve exited with {server.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process(server)
    raise RuntimeError(f"planbridge serve did not answer on port {port}")


def _start_worker(env: dict[str, str], logs: Path) -> Any:
    return start_process(env, logs / "worker.log", "worker", "--concurrency", "2")


def run(args: argparse.Namespace) -> int:
    rates = [float(rate) for rate in args.rates.split(",")]
    logs = Path(tempfile.mkdtemp(prefix="planbridge-webhook-load-"))
    harness = GitHubHarness()
    processes = []
    with scratch_database("pb_bench_webhooks") as url:
        env = planbridge_env(url, PLANBRIDGE_LOG_LEVEL="WARNING")
        senders = multiprocessing.get_context("spawn").Pool(args.senders)
        try:
            run_cli(env, "migrate")
            token = admin_token(env)
            port = free_port()
            processes.append(_start_api(env, port, args.api_workers, logs / "serve.log"))
            api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            headers = {"Authorization": f"Bearer {token}"}
            connection = create_github_connection(api, headers, harness.base_url, harness.scope)
            seed_plan(api, headers, connection["id"], WEBHOOK_SECRET, items=20)
            processes.append(_start_worker(env, logs))
            _wait_for_pushes(url, 20)
            if args.worker_after:
                stop_process(processes.pop())
            meter = CpuMeter(url, processes[0].pid, None if args.worker_after else processes[1].pid)
            template = SenderJob(
                port, connection["id"], _issue_payloads(harness), 0, 0, args.pool, 0
            )
            print(
                f"planbridge serve --workers {args.api_workers} on PostgreSQL; 1 worker process "
                f"(2 threads) {'after' if args.worker_after else 'during'} the load; "
                f"{args.senders} sender process(es), {args.pool} connections each; logs in {logs}"
            )
            # Warm-up, not reported: each API process loads its verifier and opens its database
            # connections on its first deliveries.
            warm = run_shared_step(senders, args.senders, template, 100, 3, meter)
            accepted: set[str] = set(warm.accepted_ids)
            best: float | None = None
            for rate in rates:
                step = run_shared_step(
                    senders, args.senders, template, rate, args.step_seconds, meter
                )
                accepted |= step.accepted_ids
                print(step.line("step"), flush=True)
                if (
                    step.p99 < P99_TARGET_SECONDS
                    and not step.errors
                    and step.achieved >= 0.95 * rate
                ):
                    best = rate
                else:
                    break
            held = None
            for rate in ([best] if best else []) + [
                r for r in sorted(rates, reverse=True) if best and r < best
            ]:
                if not args.worker_after:
                    # Each hold starts from an empty inbox, not from the backlog the steps left.
                    wait_for_drain(url, args.drain_seconds)
                hold = run_shared_step(
                    senders, args.senders, template, rate, args.hold_seconds, meter
                )
                accepted |= hold.accepted_ids
                print(hold.line("hold"), flush=True)
                if (
                    hold.p99 < P99_TARGET_SECONDS
                    and not hold.errors
                    and hold.achieved >= 0.95 * rate
                ):
                    held = hold
                    break
            if held is not None:
                print(
                    f"highest rate held {args.hold_seconds:.0f} s with p99 < 100 ms: "
                    f"{held.achieved:.0f} deliveries/s (p50 {held.p50 * 1000:.1f} ms, "
                    f"p99 {held.p99 * 1000:.1f} ms)"
                )
            else:
                print("no rate was held with p99 < 100 ms")
            if args.worker_after:
                processes.append(_start_worker(env, logs))
                _wait_for_first_processed(url)  # the worker's start-up is not its drain
            worker_cpu = _process_cpu(processes[-1].pid)
            backlog = inbox_counts(url)[1]
            drain_started = time.monotonic()
            print("exactly once:", verify(url, accepted, args.drain_seconds))
            drained = time.monotonic() - drain_started
            worker_cpu = _process_cpu(processes[-1].pid) - worker_cpu
            print(
                f"backlog of {backlog} drained in {drained:.1f} s after the load"
                + (f" ({backlog / drained:.0f} deliveries/s)" if backlog and drained else "")
                + f"; worker CPU {worker_cpu:.2f} s"
                + (f" ({worker_cpu / backlog * 1e6:.0f} µs per delivery)" if backlog else "")
            )
        finally:
            senders.close()
            senders.join()
            for process in processes:
                stop_process(process)
            harness.server.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rates", default="500,1000,1500,2000,2500,3000")
    parser.add_argument("--step-seconds", type=float, default=10)
    parser.add_argument("--hold-seconds", type=float, default=60)
    parser.add_argument("--api-workers", type=int, default=1, help="serve --workers N")
    parser.add_argument("--senders", type=int, default=2, help="load generator processes")
    parser.add_argument("--pool", type=int, default=32, help="connections per sender")
    parser.add_argument("--drain-seconds", type=float, default=600)
    parser.add_argument(
        "--worker-after",
        action="store_true",
        help="process the deliveries after the load instead of while it runs",
    )
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
