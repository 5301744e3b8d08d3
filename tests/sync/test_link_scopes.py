"""The scopes a pull reads are kept where links are made, not found by reading every link."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Connection
from sync.engine import SyncEngine
from sync.link_scopes import scopes_of
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed


def _scopes(engine: Engine, connection_id: str) -> list[str | None]:
    with Session(engine) as session:
        connection = session.get(Connection, uuid.UUID(connection_id))
        assert connection is not None
        return scopes_of(session, connection)


def test_a_scope_is_read_once_a_link_is_made_there_and_forgotten_when_none_is_left(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=2)
    run_until_idle(sync_engine)
    assert _scopes(engine, seeded.connection_id) == [None]

    moved = seeded.item_ids[0]
    response = client.patch(
        f"/api/v1/items/{moved}", json={"scope": "OTHER"}, headers=tenant.headers
    )
    assert response.status_code == 200
    sync_engine.run_pass()
    assert _scopes(engine, seeded.connection_id) == [None, "OTHER"]

    response = client.delete(f"/api/v1/items/{moved}", headers=tenant.headers)
    assert response.status_code == 204
    assert _scopes(engine, seeded.connection_id) == [None]


def test_a_quiet_pass_does_not_read_the_connections_links_for_their_scopes(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)
    statements: list[str] = []

    def remember(*arguments: object) -> None:
        statements.append(str(arguments[2]))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        _scopes(engine, seeded.connection_id)
    finally:
        event.remove(engine, "before_cursor_execute", remember)

    assert statements and not any("DISTINCT" in sql.upper() for sql in statements)
    assert all("external_link" not in sql for sql in statements)
