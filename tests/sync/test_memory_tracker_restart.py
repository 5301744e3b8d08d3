"""The memory tracker keeps its state in files, so a demo survives a restart of the service."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.db import make_engine
from app.main import create_app
from app.services.connections import memory_tracker_directory
from app.settings import Settings
from connectors.memory import store_file_name
from connectors.memory_store import MemoryTracker
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.retry import NO_WAIT_POLICY
from tests.conftest import TEST_SECRET_KEY, Tenant
from tests.sync.conftest import run_until_idle, seed


@pytest.fixture
def settings(database_url: str, backend: str, tmp_path: Path) -> Settings:
    """The default store beside the SQLite file; PostgreSQL has no file, so a directory is named."""
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        allow_private_trackers=True,
        embedded_worker=False,
        memory_tracker_dir=None if backend == "sqlite" else str(tmp_path / "trackers"),
    )


def test_default_store_is_a_file_beside_the_sqlite_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")

    assert memory_tracker_directory(settings) == tmp_path / "demo.db.memory-tracker"
    named = settings.model_copy(update={"memory_tracker_dir": str(tmp_path / "trackers")})
    assert memory_tracker_directory(named) == tmp_path / "trackers"
    in_memory = settings.model_copy(update={"memory_tracker_dir": ":memory:"})
    assert memory_tracker_directory(in_memory) is None
    assert store_file_name("memory://demo") == "demo.sqlite"
    assert store_file_name("memory://../etc") != "../etc.sqlite"


def test_memory_tracker_state_survives_a_restart_of_the_service(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,
    settings: Settings,
    database_url: str,
) -> None:
    seeded = seed(client, tenant, items=1)
    item_id = seeded.item_ids[0]
    run_until_idle(sync_engine)
    key = client.get(f"/api/v1/items/{item_id}", headers=tenant.headers).json()["links"][0]["key"]
    base_url = client.get(
        f"/api/v1/connections/{seeded.connection_id}", headers=tenant.headers
    ).json()["base_url"]
    directory = memory_tracker_directory(settings)
    assert directory is not None
    store_path = directory / store_file_name(base_url)
    assert store_path.exists()
    # Nothing went to the in-process store of that name: the state is only in the file.
    assert MemoryTracker(base_url.removeprefix("memory://")).all_items() == []

    # Restart: a new database engine, app and sync engine over the same files.
    restarted_db: Engine = make_engine(database_url)
    context = EngineContext(
        restarted_db, settings, worker_id="after-restart", retry_policy=NO_WAIT_POLICY
    )
    try:
        with TestClient(create_app(settings, restarted_db)) as restarted:
            tracker = MemoryTracker("unused", str(store_path))
            (stored,) = tracker.all_items()
            assert key == f"MEM-{stored.id}"
            tracker.person_sets_status(str(stored.id), "in_progress")
            response = restarted.patch(
                f"/api/v1/items/{item_id}", json={"title": "Renamed"}, headers=tenant.headers
            )
            assert response.status_code == 200, response.text

            restarted_engine = SyncEngine(context)
            restarted_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
            run_until_idle(restarted_engine)

            item = restarted.get(f"/api/v1/items/{item_id}", headers=tenant.headers).json()
    finally:
        context.close()
        restarted_db.dispose()
    assert item["status"] == "in_progress"
    assert [(link["key"], link["sync_state"]) for link in item["links"]] == [(key, "synced")]
    assert tracker.get(stored.id).title == "Renamed"  # type: ignore[union-attr]
