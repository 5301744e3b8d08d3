"""API benchmark: create and list throughput with p50/p99 latency, 1 and 16 concurrent clients.

Starts a real uvicorn server on a free loopback port (one process, no access log, no embedded
worker), on SQLite and on a scratch PostgreSQL database that the script creates and drops, and
drives it with keep-alive HTTP clients in threads (each client waits for its answer before sending
the next request).

    python -m bench.api                       # both backends
    python -m bench.api --backend postgres    # PLANBRIDGE_BENCH_POSTGRES_URL, else the local server

Before the list scenarios every item gets a synced tracker link, which the list answers carry.

Aim: listing 100 items, p99 under 25 ms at 16 clients on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlmodel import Session, select

from app.db import make_engine, utcnow
from app.models import ActionItem, ExternalLink
from tests.trackers.server import free_port

# Runnable as ``python -m bench.api`` from the repository root (tests/ holds the loopback helpers).
ADMIN_URL = os.environ.get(
    "PLANBRIDGE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-secret-key-0123456789"
CLI = [sys.executable, "-c", "from app.cli import main; main()"]


@dataclass
class Result:
    name: str
    clients: int
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self) -> str:
        return (
            f"| {self.name} | {self.clients} | {self.requests} | {self.throughput:,.0f} | "
            f"{self.percentile(0.50):.1f} | {self.percentile(0.99):.1f} |"
        )


@contextmanager
def scratch_postgres() -> Iterator[str]:
    name = f"pb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rpartition("/")[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(database_url: str) -> Iterator[tuple[str, str]]:
    """A migrated database, an admin token and a uvicorn process serving it; yields (url, token)."""
    env = {**os.environ, "PLANBRIDGE_DATABASE_URL": database_url, "PLANBRIDGE_SECRET_KEY": SECRET}
    env["PLANBRIDGE_EMBEDDED_WORKER"] = "false"
    subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [*CLI, "token", "create", "--workspace", "bench", "--scope", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "app.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=15)


def run(
    name: str,
    clients: int,
    requests_per_client: int,
    make_call: Callable[[httpx.Client, int], Any],
    url: str,
    token: str,
) -> Result:
    """``clients`` threads, each sending ``requests_per_client`` requests one after the other."""
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client_loop(index: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            make_call(http, -1)  # warm the connection
            mine = []
            barrier.wait()
            for n in range(requests_per_client):
                started = time.perf_counter()
                response = make_call(http, index * requests_per_client + n)
                mine.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:200]}")
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return Result(name, clients, len(latencies), time.perf_counter() - started, latencies)


def link_every_item(database_url: str, http: httpx.Client) -> None:
    """Give every item a synced tracker link, as a connected team's items have: list answers
    carry each item's links (written straight to the database; no worker runs here)."""
    connection = http.post(
        "/api/v1/connections",
        json={
            "kind": "memory",
            "name": "Bench tracker",
            "base_url": "memory://bench",
            "scope": "BENCH",
            "credentials": {"token": "good"},
        },
    ).json()
    engine = make_engine(database_url)
    now = utcnow()
    with Session(engine) as session:
        for n, item in enumerate(session.exec(select(ActionItem)).all(), start=1):
            session.add(
                ExternalLink(
                    workspace_id=item.workspace_id,
                    connection_id=uuid.UUID(connection["id"]),
                    item_id=item.id,
                    external_id=str(n),
                    key=f"MEM-{n}",
                    url=f"memory://bench/items/{n}",
                    pushed_revision=item.revision,
                    last_synced_at=now,
                )
            )
        session.commit()
    engine.dispose()


def bench_backend(backend: str, database_url: str, total: int) -> list[Result]:
    results = []
    with server(database_url) as (url, token):
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        # Items are spread over 20 owners, as a team's would be (the capacity checker reads the
        # owner's open items on every write).
        owners = [
            http.post(
                "/api/v1/people", json={"name": f"Owner {n}", "weekly_strategic_hours": 40}
            ).json()["id"]
            for n in range(20)
        ]
        today = date.today()
        plan = http.post(
            "/api/v1/plans",
            json={
                "name": "Bench",
                "start_date": today.isoformat(),
                "end_date": (today + timedelta(days=90)).isoformat(),
            },
        ).json()
        goal = http.post(
            "/api/v1/goals", json={"plan_id": plan["id"], "title": "Bench", "owner_id": owners[0]}
        ).json()
        body = {
            "goal_id": goal["id"],
            "estimate_hours": 4,
            "due_date": (today + timedelta(days=30)).isoformat(),
        }

        def create(client: httpx.Client, n: int) -> httpx.Response:
            owner = owners[n % len(owners)]
            return client.post(
                "/api/v1/items", json={**body, "owner_id": owner, "title": f"Item {n}"}
            )

        def list_100(client: httpx.Client, n: int) -> httpx.Response:
            return client.get("/api/v1/items", params={"goal_id": goal["id"], "limit": 100})

        for clients in (1, 16):
            results.append(
                run(f"{backend}: create item", clients, total // clients, create, url, token)
            )
        link_every_item(database_url, http)
        for clients in (1, 16):
            results.append(
                run(f"{backend}: list 100 items", clients, total // clients, list_100, url, token)
            )

        # The floor of this harness on this machine: no database, no token, no body.
        def healthz(client: httpx.Client, n: int) -> httpx.Response:
            return client.get("/healthz")

        results.append(
            run(f"{backend}: GET /healthz (floor)", 16, total // 16, healthz, url, token)
        )
        http.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=800, help="requests per scenario")
    args = parser.parse_args()
    results: list[Result] = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results += bench_backend("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.requests)
    if args.backend in ("postgres", "both"):
        with scratch_postgres() as url:
            results += bench_backend("PostgreSQL", url, args.requests)
    print("| scenario | clients | requests | req/s | p50 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for result in results:
        print(result.row())


if __name__ == "__main__":
    main()
