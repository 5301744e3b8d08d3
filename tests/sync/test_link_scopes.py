"""The scopes a pull reads are kept where links are made, not found by reading every link."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Connection
from app.models.planning import ItemStatus
from connectors.github.mapping import item_id_from_body
from sync.engine import SyncEngine
from sync.link_scopes import scopes_of
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed
from tests.sync.e2e import create_github_connection, item_status, seed_plan
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.github.store import Repository

ELSEWHERE = "planbridge-test/elsewhere"


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


def test_a_pull_matches_an_issue_by_repository_and_number(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    """GitHub numbers issues per repository: #1 of the other repository is not #1 here."""
    elsewhere = github.emulator.add_repository(*ELSEWHERE.split("/"))
    for existing in list(github.emulator.repository.issues.values()):  # people's own issues
        github.emulator.create_issue({"title": existing.title}, "octocat", elsewhere)
    connection = create_github_connection(client, tenant, github)
    seeded = seed_plan(client, tenant, connection, {"github": "octocat"}, items=2)
    here, there = seeded.item_ids
    response = client.patch(
        f"/api/v1/items/{there}", json={"scope": ELSEWHERE}, headers=tenant.headers
    )
    assert response.status_code == 200
    run_until_idle(sync_engine)
    number = _issue_number(github.emulator.repository, here)
    assert _issue_number(elsewhere, there) == number  # the same number in both repositories
    connection_id = uuid.UUID(seeded.connection_id)

    github.emulator.person_closes(number, repo=elsewhere)
    sync_engine.pull_one(connection_id)
    assert (item_status(engine, there), item_status(engine, here)) == (
        ItemStatus.done,
        ItemStatus.todo,
    )

    github.emulator.person_closes(number, "not_planned")
    sync_engine.pull_one(connection_id)
    assert (item_status(engine, there), item_status(engine, here)) == (
        ItemStatus.done,
        ItemStatus.dropped,
    )


def _issue_number(repository: Repository, item_id: str) -> int:
    issues = repository.issues.values()
    return next(i.number for i in issues if str(item_id_from_body(i.body)) == item_id)
