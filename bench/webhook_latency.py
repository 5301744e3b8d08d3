"""Webhook to goal progress: from GitHub's signed delivery to the item done and the goal's progress.

    python bench/webhook_latency.py                 # 50 samples
    python bench/webhook_latency.py --samples 20

Embedded mode, as one box runs planbridge: ``planbridge serve`` (API and its embedded worker
thread) on a SQLite file, a GitHub connection to the GitHub emulator (in this process, over
loopback HTTP), one goal with ``--samples`` items, all pushed first. Then, one at a time, a person
closes an issue in the emulator ("act as a person"), and this script sends the signed ``issues``
delivery the emulator produced for it to ``POST /webhooks/{connection_id}`` (the emulator would
send the same bytes). The clock starts just before that request and stops when
``GET /api/v1/goals/{id}/progress`` first shows the item done (polled every 5 ms); the item's own
status is then checked too. Aim: p95 under 500 ms.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.production_support import percentile, run_cli, start_process, stop_process
from connectors.base import RemoteRef, RemoteStatus
from connectors.github.mapping import item_id_from_body
from tests.production.github_setup import create_github_connection, seed_plan
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.server import free_port

SECRET_KEY = "bench-secret-key-0123456789abcdef"
AIM_SECONDS = 0.5


def _wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="planbridge-webhook-latency-"))
    env = dict(
        __import__("os").environ,
        PLANBRIDGE_DATABASE_URL=f"sqlite:///{workdir / 'planbridge.db'}",
        PLANBRIDGE_SECRET_KEY=SECRET_KEY,
        PLANBRIDGE_ALLOW_PRIVATE_TRACKERS="true",
        PLANBRIDGE_LOG_LEVEL="WARNING",
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    token = run_cli(env, "token", "create", "--workspace", "bench", "--scope", "admin")
    port = free_port()
    server = start_process(env, workdir / "serve.log", "serve", "--port", str(port))
    harness = GitHubHarness()
    try:
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

        def answering() -> bool:
            try:
                return api.get("/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        _wait_until(answering, 60, "planbridge serve")
        headers = {"Authorization": f"Bearer {token}"}
        # The emulator signs its deliveries with its own secret, as a GitHub hook would.
        secret = harness.emulator.webhook_secret
        connection = create_github_connection(
            api, headers, harness.base_url, harness.scope, webhook_secret=secret
        )
        setup = seed_plan(api, headers, connection["id"], secret, items=args.samples)
        _wait_until(lambda: harness.object_count() >= args.samples, 300, "the items' push")
        with harness.emulator.lock:
            numbers = {
                str(item_id_from_body(issue.body)): issue.number
                for issue in harness.emulator.repository.issues.values()
                if item_id_from_body(issue.body) is not None
            }
        progress_path = f"/api/v1/goals/{setup.goal_id}/progress"
        latencies: list[float] = []
        for done_before, item_id in enumerate(setup.item_ids):
            ref = RemoteRef(str(numbers[item_id]))
            harness.person_sets_status(ref, RemoteStatus.done)
            delivery_headers, body = harness.signed_webhook_for(ref)
            started = time.perf_counter()
            answer = api.post(
                f"/webhooks/{connection['id']}", content=body, headers=delivery_headers
            )
            assert answer.status_code == 202, answer.text
            while api.get(progress_path, headers=headers).json()["done_count"] <= done_before:
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"item {item_id} never showed as done")
                time.sleep(0.005)
            latencies.append(time.perf_counter() - started)
            item = api.get(f"/api/v1/items/{item_id}", headers=headers).json()
            assert item["status"] == "done", item
        p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)
        print(
            f"webhook -> goal progress, {len(latencies)} samples (embedded SQLite, "
            f"planbridge serve with its worker): p50 {p50 * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        print("PASS" if p95 < AIM_SECONDS else "FAIL", "(aim: p95 < 500 ms)")
    finally:
        stop_process(server)
        harness.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
