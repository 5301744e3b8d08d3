"""End to end over real HTTP: API -> engine -> GitHub emulator -> signed webhook -> engine -> item.

planbridge itself is served on loopback so the emulator's webhook sender really POSTs to it.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from app.models.planning import ItemStatus
from connectors.base import MARKER_LABEL, RemoteRef, RemoteStatus
from connectors.github.mapping import item_id_from_body
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle
from tests.sync.e2e import (
    SeededPlan,
    create_github_connection,
    item_status,
    seed_plan,
    tracker_status_events,
)
from tests.trackers.github.harness import GitHubHarness


def _seed(client: TestClient, tenant: Tenant, github: GitHubHarness, items: int) -> SeededPlan:
    connection = create_github_connection(
        client, tenant, github, in_progress_label="in progress", blocked_label="blocked"
    )
    return seed_plan(client, tenant, connection, {"github": "octocat"}, items)


def _issues_by_item(github: GitHubHarness) -> dict[str, Any]:
    with github.emulator.lock:
        issues = list(github.emulator.repository.issues.values())
    found: dict[str, Any] = {}
    for issue in issues:
        marker = item_id_from_body(issue.body)
        if marker is not None:
            assert str(marker) not in found, "an item was created twice"
            found[str(marker)] = issue
    return found


def test_items_reach_github_and_a_close_comes_back_by_webhook(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    served_app: str,
    sync_engine: SyncEngine,
    engine: Any,
) -> None:
    seeded = _seed(client, tenant, github, items=20)
    github.emulator.webhooks.url = f"{served_app}/webhooks/{seeded.connection_id}"
    run_until_idle(sync_engine)
    issues = _issues_by_item(github)
    assert sorted(issues) == sorted(seeded.item_ids)
    first = issues[seeded.item_ids[0]]
    assert MARKER_LABEL in first.labels
    assert "octocat" in str(first.assignees)
    run_until_idle(sync_engine)  # the "opened" deliveries of the creates
    github.person_sets_status(RemoteRef(str(first.number)), RemoteStatus.done)
    github.emulator.webhooks.flush()  # the signed "closed" delivery has been POSTed to planbridge
    assert github.emulator.webhooks.responses[-1] == 202
    sync_engine.step()
    assert item_status(engine, seeded.item_ids[0]) == ItemStatus.done
    assert tracker_status_events(engine) == [(seeded.item_ids[0], "done")]


def test_without_webhooks_the_next_poll_brings_the_close(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    sync_engine: SyncEngine,
    engine: Any,
) -> None:
    seeded = _seed(client, tenant, github, items=3)
    run_until_idle(sync_engine)
    issue = _issues_by_item(github)[seeded.item_ids[1]]
    github.person_sets_status(RemoteRef(str(issue.number)), RemoteStatus.done)
    github.advance_clock(10)
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    assert item_status(engine, seeded.item_ids[1]) == ItemStatus.done
