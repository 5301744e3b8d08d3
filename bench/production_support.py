"""What the production benches share: a scratch PostgreSQL database and planbridge processes.

Every bench creates its own database (dropped at the end), starts ``planbridge serve`` and
``planbridge worker`` as real processes on loopback, and stops them by process id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ADMIN_URL = os.environ.get(
    "PLANBRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SECRET_KEY = "bench-secret-key-0123456789abcdef"


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A fresh database for one bench run; yields its SQLAlchemy URL."""
    admin = ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{admin.split('://', 1)[1].rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def conninfo(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")


def planbridge_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PLANBRIDGE_DATABASE_URL=database_url,
        PLANBRIDGE_SECRET_KEY=SECRET_KEY,
        PLANBRIDGE_ALLOW_PRIVATE_TRACKERS="true",
        PLANBRIDGE_LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["planbridge", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()


# Runs the CLI with connector lookup cached: the fix proposed for connectors/registry.py (it scans
# every installed distribution's entry points on each build_connector call, ~35 ms here).
CACHED_REGISTRY_LAUNCHER = (
    "import functools, connectors.registry as registry; "
    "registry.connector_class = functools.cache(registry.connector_class); "
    "from app.cli import main; main()"
)


def start_process(
    env: dict[str, str], log_path: Path, *args: str, cached_registry: bool = False
) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    command = (
        [sys.executable, "-c", CACHED_REGISTRY_LAUNCHER, *args]
        if cached_registry
        else ["planbridge", *args]
    )
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=log)


def start_server(
    env: dict[str, str], port: int, log_path: Path, *, cached_registry: bool = False
) -> subprocess.Popen[bytes]:
    process = start_process(
        env, log_path, "serve", "--no-worker", "--port", str(port), cached_registry=cached_registry
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"planbridge serve exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process(process)
    raise RuntimeError(f"planbridge serve did not answer on port {port}")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM, wait, SIGKILL if it will not go; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def admin_token(env: dict[str, str]) -> str:
    return run_cli(env, "token", "create", "--workspace", "bench", "--scope", "admin")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
