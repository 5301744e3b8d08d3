"""The command line: token create, migrate, serve, and its refusal of unsafe settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.db import make_engine
from app.main import create_app
from app.migrations.runner import current_matches_head
from app.settings import Settings, get_settings
from tests.conftest import TEST_SECRET_KEY
from tests.postgres_server import conninfo, url_for_database
from tests.trackers.server import free_port

runner = CliRunner()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PLANBRIDGE_DATABASE_URL", url)
    monkeypatch.delenv("PLANBRIDGE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def postgres_scratch_url(postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    admin = conninfo(postgres_admin_url)
    name = f"pb_cli_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = url_for_database(postgres_admin_url, name)
    monkeypatch.setenv("PLANBRIDGE_DATABASE_URL", url)
    monkeypatch.setenv("PLANBRIDGE_SECRET_KEY", TEST_SECRET_KEY)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _token_works(url: str, token: str) -> None:
    settings = Settings(database_url=url, secret_key=TEST_SECRET_KEY, embedded_worker=False)  # type: ignore[arg-type]
    engine = make_engine(url)
    try:
        with TestClient(create_app(settings, engine)) as client:
            response = client.get("/api/v1/people", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
    finally:
        engine.dispose()


def test_token_create_prints_a_working_token_once_on_sqlite(sqlite_url: str) -> None:
    result = runner.invoke(cli, ["token", "create", "--workspace", "acme", "--scope", "admin"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("pb_") and "\n" not in token
    _token_works(sqlite_url, token)


def test_migrate_then_token_create_on_postgresql(postgres_scratch_url: str) -> None:
    result = runner.invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    engine = make_engine(postgres_scratch_url)
    with engine.connect() as connection:
        assert current_matches_head(connection)
    engine.dispose()
    created = runner.invoke(cli, ["token", "create", "--workspace", "acme", "--scope", "read"])
    assert created.exit_code == 0, created.output
    _token_works(postgres_scratch_url, created.stdout.strip())


def test_unknown_scope_is_refused(sqlite_url: str) -> None:
    result = runner.invoke(cli, ["token", "create", "--workspace", "acme", "--scope", "root"])
    assert result.exit_code == 2


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "command", [["serve"], ["migrate"], ["token", "create", "--workspace", "a"]]
)
def test_unsafe_production_settings_are_refused_in_one_line(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PLANBRIDGE_SECRET_KEY"}
    env["PLANBRIDGE_DATABASE_URL"] = "postgresql://planbridge@127.0.0.1:5432/planbridge"
    result = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "planbridge: refusing to start: PLANBRIDGE_SECRET_KEY must be set when "
        "PLANBRIDGE_DATABASE_URL is not SQLite (tracker credentials are encrypted with it)"
    )


def test_bad_value_is_refused_naming_the_variable(tmp_path: Path) -> None:
    result = _run_cli(
        "migrate",
        env={
            "PLANBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "PLANBRIDGE_PORT": "eighty",
        },
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("planbridge: refusing to start: PLANBRIDGE_PORT:")


def test_serve_upgrades_its_sqlite_database_and_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PLANBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    env.pop("PLANBRIDGE_SECRET_KEY", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from app.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--no-worker",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "serve did not answer within 30 s"
                time.sleep(0.2)
        assert ready.status_code == 200 and ready.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/items", timeout=5).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=15)
