"""/healthz and /readyz: ready only when the database answers and its schema is at head."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.db import make_engine
from app.main import create_app
from app.migrations.runner import upgrade
from app.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.postgres_server import conninfo, url_for_database


@pytest.fixture
def migrated_engine(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """A database brought to head by the real migrations (the shared fixtures use create_all)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'ready.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    admin = conninfo(admin_url)
    name = f"pb_ready_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url_for_database(admin_url, name), pool_size=2)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _client_for(engine: Engine) -> TestClient:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        embedded_worker=False,
    )
    return TestClient(create_app(settings, engine), raise_server_exceptions=False)


def test_ready_when_database_answers_at_head(migrated_engine: Engine) -> None:
    with _client_for(migrated_engine) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_not_ready_when_migrations_are_behind(migrated_engine: Engine) -> None:
    # With a single revision, "behind" is a database that has not recorded any migration.
    with migrated_engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    with _client_for(migrated_engine) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    assert response.status_code == 503
    assert response.json()["detail"] == "migrations not at head"


def test_not_ready_when_database_unreachable() -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", pool_size=1)
    with _client_for(engine) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "127.0.0.1" not in response.text  # the reason is a class name, not connection details
