"""Crash safety against a real tracker emulator: "create committed, response lost" on Jira Cloud.

Jira Cloud's search is eventually consistent, so the marker of a create whose answer was lost can
only be trusted once the index lag has passed. The engine and the emulator share one clock here, so
the test can step through that lag without waiting for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.settings import Settings
from sync import push
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.retry import LINK_BACKOFF_FIRST, NO_WAIT_POLICY
from tests.conftest import Tenant
from tests.sync.e2e import create_connection, links_by_item, seed_plan
from tests.sync.test_end_to_end_jira import connection_body, issues_by_item, owner_identities
from tests.trackers.faults import EmulatorClock
from tests.trackers.jira.harness import JiraCloudHarness

LOST = 3


class SharedClock:
    """The engine's clock is the emulator's: sleeping moves both on."""

    def __init__(self, clock: EmulatorClock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.clock.advance(max(0.0, seconds))


@pytest.fixture
def jira() -> Iterator[JiraCloudHarness]:
    # A slow index ("from a few seconds to minutes", Atlassian's search-and-reconcile page):
    # longer than the engine's first back-off, so a too-early lookup would show.
    harness = JiraCloudHarness(index_lag_seconds=30.0)
    yield harness
    harness.close()


@pytest.fixture
def shared_engine(
    engine: Engine, settings: Settings, jira: JiraCloudHarness
) -> Iterator[SyncEngine]:
    context = EngineContext(
        engine,
        settings,
        worker_id="crash-test",
        clock=SharedClock(jira.clock),
        retry_policy=NO_WAIT_POLICY,
    )
    yield SyncEngine(context)
    context.close()


def test_lost_create_responses_are_found_by_marker_after_the_index_lag_without_duplicates(
    client: TestClient,
    tenant: Tenant,
    jira: JiraCloudHarness,
    shared_engine: SyncEngine,
    engine: Engine,
) -> None:
    connection = create_connection(client, tenant, connection_body(jira))
    seeded = seed_plan(client, tenant, connection, owner_identities(jira), items=6)
    jira.inject_fault("lose_create_response", count=LOST, path_contains="/rest/api/3/issue")

    shared_engine.step()
    lost = _links_without_external_id(engine, seeded.connection_id)
    assert len(lost) == LOST
    assert len(issues_by_item(jira)) == 6  # every create reached Jira, half the answers did not

    # Past the failure back-off but inside the index lag: the lookup misses the issues (the
    # connector never saw their ids to reconcile), and a miss must not lead to a second create.
    jira.advance_clock(LINK_BACKOFF_FIRST.total_seconds() + 1)
    assert jira.store.index_lag_seconds > LINK_BACKOFF_FIRST.total_seconds() + 1
    shared_engine.step()
    assert len(_links_without_external_id(engine, seeded.connection_id)) == LOST
    assert jira.object_count() == 6

    jira.advance_clock(jira.store.index_lag_seconds)
    while shared_engine.step().did_work:
        pass

    issues = issues_by_item(jira)  # asserts one issue per item
    assert sorted(issues) == sorted(seeded.item_ids)
    links = links_by_item(engine, seeded.connection_id)
    assert {item_id: link.external_id for item_id, link in links.items()} == {
        item_id: str(issue.id) for item_id, issue in issues.items()
    }
    assert all(link.attempts == 0 and not link.dead for link in links.values())


def test_a_create_the_engine_lost_track_of_is_found_at_once_through_reconcile_issues(
    client: TestClient,
    tenant: Tenant,
    jira: JiraCloudHarness,
    shared_engine: SyncEngine,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection = create_connection(client, tenant, connection_body(jira))
    seeded = seed_plan(client, tenant, connection, owner_identities(jira), items=1)
    # Jira answers the create, then storing its answer fails once (the database went away): the
    # link keeps create_started_at and no external id, the connector knows the id it wrote.
    store_remote = push._store_remote
    failures = [OperationalError("UPDATE external_link", {}, ConnectionResetError())]

    def store_unless_failing(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        store_remote(*args, **kwargs)

    monkeypatch.setattr(push, "_store_remote", store_unless_failing)
    shared_engine.step()
    assert _links_without_external_id(engine, seeded.connection_id) != []
    assert jira.object_count() == 1

    # Past the failure back-off, well inside the index lag: found at once, not created again.
    jira.advance_clock(LINK_BACKOFF_FIRST.total_seconds() + 1)
    assert jira.store.index_lag_seconds > LINK_BACKOFF_FIRST.total_seconds() + 1
    shared_engine.step()

    (issue,) = issues_by_item(jira).values()
    (link,) = links_by_item(engine, seeded.connection_id).values()
    assert link.external_id == str(issue.id) and jira.object_count() == 1
    searches = [r.query for r in jira.emulator.requests if r.path.endswith("/search/jql")]
    assert any(f"reconcileIssues={issue.id}" in query for query in searches)


def _links_without_external_id(engine: Engine, connection_id: str) -> list[uuid.UUID]:
    links = links_by_item(engine, connection_id).values()
    return [link.id for link in links if link.external_id is None]
