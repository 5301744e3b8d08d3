"""Progress in the trackers: the goal's GitHub milestone shows progress and health in its
description, and the text follows the work as items get done."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sync.engine import SyncEngine
from sync.goal_mirrors import refresh_goal_mirrors
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle
from tests.sync.e2e import create_github_connection, seed_plan
from tests.trackers.github.harness import GitHubHarness


def _milestone_description(github: GitHubHarness) -> str:
    with github.emulator.lock:
        [milestone] = list(github.emulator.repository.milestones.values())
    return milestone.description or ""


def test_milestone_description_shows_progress_and_follows_done_items(
    client: TestClient, tenant: Tenant, github: GitHubHarness, sync_engine: SyncEngine
) -> None:
    connection = create_github_connection(client, tenant, github)
    seeded = seed_plan(client, tenant, connection, {"github": "octocat"}, 2, mirror_goal=True)
    run_until_idle(sync_engine)
    before = _milestone_description(github)
    assert "planbridge status: 0 % done (0 of 6 h)" in before
    assert "health" in before

    response = client.patch(
        f"/api/v1/items/{seeded.item_ids[0]}", json={"status": "done"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    run_until_idle(sync_engine)
    context = sync_engine.context
    assert refresh_goal_mirrors(context, context.clock.now()) == 1
    run_until_idle(sync_engine)
    after = _milestone_description(github)
    assert "planbridge status: 50 % done (3 of 6 h)" in after
    # The marker that finds the milestone again after a crash survives the rewrite.
    assert f"planbridge:item={seeded.goal_id}" in after
    # Nothing moved since: no further write.
    assert refresh_goal_mirrors(context, context.clock.now()) == 0
