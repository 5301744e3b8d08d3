"""GitHub transfers, deletions and archived repositories through the engine (issue #14).

A transferred issue answers 301 to its new home (PyGithub's redirects are refused by the address
guard, so the connector reads the Location itself); a deleted one 410; an archived repository
refuses writes with 403.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import ActionItem, Connection, ExternalLink, ItemEvent
from app.models.sync import ConnectionState
from connectors.github.mapping import item_id_from_body
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle
from tests.sync.e2e import SeededPlan, create_github_connection, seed_plan
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.github.store import Repository

ELSEWHERE = "planbridge-test/elsewhere"


def _seed(client: TestClient, tenant: Tenant, github: GitHubHarness, items: int) -> SeededPlan:
    connection = create_github_connection(client, tenant, github)
    return seed_plan(client, tenant, connection, {"github": "octocat"}, items)


def _issue_of(repo: Repository, item_id: str) -> Any:
    found = [i for i in repo.issues.values() if str(item_id_from_body(i.body)) == item_id]
    assert len(found) == 1, f"{len(found)} issues for item {item_id} in {repo.full_name}"
    return found[0]


def _live_link(engine: Any, item_id: str) -> ExternalLink:
    with Session(engine) as session:
        links = session.exec(
            select(ExternalLink).where(ExternalLink.item_id == uuid.UUID(item_id))
        ).all()
        live = [link for link in links if link.moved_at is None]
        assert len(live) == 1
        return live[0]


def _edit_title(client: TestClient, tenant: Tenant, item_id: str, title: str) -> None:
    response = client.patch(
        f"/api/v1/items/{item_id}", json={"title": title}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


def test_an_issue_transferred_to_a_repository_the_connection_syncs_is_followed(
    client: TestClient, tenant: Tenant, github: GitHubHarness, sync_engine: SyncEngine, engine: Any
) -> None:
    elsewhere = github.emulator.add_repository(*ELSEWHERE.split("/"))
    seeded = _seed(client, tenant, github, items=2)
    staying, moving = seeded.item_ids
    # One item lives in the other repository: the connection syncs both.
    response = client.patch(
        f"/api/v1/items/{staying}", json={"scope": ELSEWHERE}, headers=tenant.headers
    )
    assert response.status_code == 200
    run_until_idle(sync_engine)
    issue = _issue_of(github.emulator.repository, moving)

    moved = github.emulator.person_transfers(issue.number, elsewhere)
    _edit_title(client, tenant, moving, "Renamed after the transfer")
    run_until_idle(sync_engine)

    link = _live_link(engine, moving)
    assert (link.scope, link.external_id, link.key) == (
        ELSEWHERE,
        str(moved.number),
        f"{ELSEWHERE}#{moved.number}",
    )
    assert link.tombstoned_at is None and link.last_error is None
    assert _issue_of(elsewhere, moving).title == "Renamed after the transfer"
    assert not any(  # nothing was made again in the old repository
        str(item_id_from_body(i.body)) == moving for i in github.emulator.repository.issues.values()
    )
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(moving))
        assert item is not None and item.scope == ELSEWHERE
        event = session.exec(select(ItemEvent).where(ItemEvent.field == "tracker_transfer")).one()
        assert event.to_value == f"{ELSEWHERE}#{moved.number}"
        assert event.data["followed"] is True


def test_an_issue_transferred_out_of_the_connections_repositories_is_recorded_as_moved_out(
    client: TestClient, tenant: Tenant, github: GitHubHarness, sync_engine: SyncEngine, engine: Any
) -> None:
    private = github.emulator.add_repository("someone-else", "private")
    seeded = _seed(client, tenant, github, items=1)
    run_until_idle(sync_engine)
    [item_id] = seeded.item_ids
    issue = _issue_of(github.emulator.repository, item_id)

    github.emulator.person_transfers(issue.number, private)
    _edit_title(client, tenant, item_id, "Renamed after the transfer")
    run_until_idle(sync_engine)

    link = _live_link(engine, item_id)
    assert link.tombstoned_at is not None
    assert link.last_error is not None and link.last_error.startswith("moved out of scope")
    assert "someone-else/private" in link.last_error
    assert _issue_of(private, item_id).title != "Renamed after the transfer"
    assert not any(
        str(item_id_from_body(i.body)) == item_id
        for i in github.emulator.repository.issues.values()
    )


def test_a_deleted_issue_is_tombstoned_from_its_webhook(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    served_app: str,
    sync_engine: SyncEngine,
    engine: Any,
) -> None:
    seeded = _seed(client, tenant, github, items=1)
    github.emulator.webhooks.url = f"{served_app}/webhooks/{seeded.connection_id}"
    run_until_idle(sync_engine)
    [item_id] = seeded.item_ids
    issue = _issue_of(github.emulator.repository, item_id)

    github.emulator.person_deletes(issue.number)
    github.emulator.webhooks.flush()
    run_until_idle(sync_engine)

    assert _live_link(engine, item_id).tombstoned_at is not None
    assert github.emulator.request_log[-1][2] == 410  # the fetch that proved it gone


def test_an_archived_repository_pauses_the_connection_with_the_reason(
    client: TestClient, tenant: Tenant, github: GitHubHarness, sync_engine: SyncEngine, engine: Any
) -> None:
    seeded = _seed(client, tenant, github, items=1)
    run_until_idle(sync_engine)
    github.emulator.person_archives()

    _edit_title(client, tenant, seeded.item_ids[0], "Renamed in an archived repository")
    run_until_idle(sync_engine)

    with Session(engine) as session:
        connection = session.get(Connection, uuid.UUID(seeded.connection_id))
        assert connection is not None
        assert connection.state == ConnectionState.paused
        assert connection.paused_reason is not None
        assert "archived" in connection.paused_reason
        assert "credentials" not in connection.paused_reason


def test_a_transfer_webhook_alone_moves_the_link_to_the_new_repository(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    served_app: str,
    sync_engine: SyncEngine,
    engine: Any,
) -> None:
    elsewhere = github.emulator.add_repository(*ELSEWHERE.split("/"))
    seeded = _seed(client, tenant, github, items=2)
    staying, moving = seeded.item_ids
    response = client.patch(
        f"/api/v1/items/{staying}", json={"scope": ELSEWHERE}, headers=tenant.headers
    )
    assert response.status_code == 200
    github.emulator.webhooks.url = f"{served_app}/webhooks/{seeded.connection_id}"
    run_until_idle(sync_engine)
    issue = _issue_of(github.emulator.repository, moving)

    moved = github.emulator.person_transfers(issue.number, elsewhere)
    github.emulator.webhooks.flush()  # the "transferred" delivery reached planbridge
    run_until_idle(sync_engine)

    link = _live_link(engine, moving)
    assert (link.scope, link.external_id) == (ELSEWHERE, str(moved.number))
    assert link.tombstoned_at is None
