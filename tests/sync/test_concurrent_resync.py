"""Concurrent resyncs of a connection, while the embedded worker pulls and pushes it, all succeed:
no deadlock between transactions that change several links."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.main import create_app
from app.models import ExternalLink
from app.settings import Settings
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed

CLIENTS = 3
RESYNCS_PER_CLIENT = 60


def test_concurrent_resyncs_all_succeed_while_the_worker_syncs_the_connection(
    client: TestClient,
    tenant: Tenant,
    engine: Engine,
    settings: Settings,
    sync_engine: SyncEngine,
) -> None:
    seeded = seed(client, tenant, items=25)
    run_until_idle(sync_engine)  # the items are pushed: the connection has links
    with Session(engine) as session:
        links = session.execute(select(func.count()).select_from(ExternalLink)).scalar_one()
    assert links == 25
    url = f"/api/v1/connections/{seeded.connection_id}/resync"
    # Each resync makes the connection due for a pull and every link due for a push: the
    # embedded worker changes the links the resyncs change, all the time.
    served_settings = settings.model_copy(update={"embedded_worker": True})
    with TestClient(create_app(served_settings, engine), raise_server_exceptions=False) as served:

        def resync_repeatedly(_: int) -> list[int]:
            return [
                served.post(url, headers=tenant.headers).status_code
                for _ in range(RESYNCS_PER_CLIENT)
            ]

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [
                code for codes in pool.map(resync_repeatedly, range(CLIENTS)) for code in codes
            ]
    assert answers == [202] * (CLIENTS * RESYNCS_PER_CLIENT)
