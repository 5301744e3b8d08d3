"""CPU per webhook delivery inside the app: the ASGI app called directly, no HTTP server, no sender.

    python bench/webhook_route_cpu.py                      # 4,000 deliveries, 32 at a time
    python bench/webhook_route_cpu.py --deliveries 10000 --concurrency 64

A scratch PostgreSQL database, the app built by ``create_app`` (every middleware in place), a
memory-tracker connection, then signed deliveries sent straight into the ASGI callable, 32 in
flight at a time. Prints the process CPU (all threads) per delivery, which is what the route,
the middlewares, the verifier and the group commit cost, apart from the HTTP server's parsing and
the kernel's networking (bench/webhook_load.py measures the whole).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.db import make_engine
from app.main import create_app
from app.migrations.runner import upgrade
from app.models import Scope
from app.observability.logging import configure_logging
from app.services.tokens import get_or_create_workspace, issue_token
from app.settings import Settings
from bench.production_support import SECRET_KEY, scratch_database
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign

WEBHOOK_SECRET = "whsec-route-cpu-0123456789"


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _send_all(
    app: Any, path: str, body: bytes, count: int, concurrency: int
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    signature = sign(WEBHOOK_SECRET, body).encode()
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        headers = [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (SIGNATURE_HEADER.encode(), signature),
            (DELIVERY_HEADER.encode(), uuid.uuid4().hex.encode()),
        ]
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # never reached: the app reads the body once
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        async with gate:
            await app(_scope(path, headers), receive, send)
        statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(one() for _ in range(count)))
    return statuses


def run(args: argparse.Namespace) -> int:
    configure_logging("WARNING")
    with scratch_database("pb_bench_route_cpu") as url:
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
        app = create_app(settings, engine)
        with TestClient(app) as client:
            created = client.post(
                "/api/v1/connections",
                json={
                    "kind": "memory",
                    "name": "route cpu",
                    "base_url": "memory://route-cpu",
                    "scope": "TEAM",
                    "credentials": {"token": "good"},
                    "webhook_secret": WEBHOOK_SECRET,
                    "config": {},
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            created.raise_for_status()
            path = f"/webhooks/{created.json()['id']}"
        # About the size of a GitHub issue delivery.
        body = json.dumps({"event": "item.updated", "padding": "x" * 4000}).encode()

        async def measure() -> None:
            await _send_all(app, path, body, 200, args.concurrency)  # warm-up
            cpu, wall = time.process_time(), time.perf_counter()
            statuses = await _send_all(app, path, body, args.deliveries, args.concurrency)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(
                f"{args.deliveries} deliveries, {args.concurrency} in flight: "
                f"{cpu / args.deliveries * 1e6:.0f} µs CPU each (all threads), "
                f"{args.deliveries / wall:.0f}/s on one event loop; answers {statuses}"
            )

        asyncio.run(measure())
        engine.dispose()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--deliveries", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
