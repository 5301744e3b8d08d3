"""End to end over real HTTP: API -> engine -> Jira emulator (Cloud, Data Center) -> webhook.

planbridge is served on loopback and registers its admin webhook through the API, so the emulator
really POSTs signed deliveries to it. Owners map to Jira users by ``identities["jira"]`` (Cloud
accountId) or ``identities["jira_dc"]`` (Data Center username): sync/routing.py ``identity_key``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import WebhookDelivery
from app.models.planning import ItemStatus
from connectors.base import MARKER_LABEL, RemoteRef, RemoteStatus
from connectors.jira.mapping import DROPPED_LABEL, item_id_from_labels, marker_label
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle
from tests.sync.e2e import (
    SeededPlan,
    create_connection,
    goal_link,
    item_status,
    links_by_item,
    seed_plan,
    tracker_status_events,
)
from tests.trackers.jira.harness import (
    JiraCloudHarness,
    JiraDataCenterHarness,
    JiraHarness,
)
from tests.trackers.jira.store import Issue

SECRET_FIELDS = {"api_token", "personal_access_token", "email", "webhook_secret"}


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest) -> Iterator[JiraHarness]:
    harness = JiraCloudHarness() if request.param == "cloud" else JiraDataCenterHarness()
    yield harness
    harness.close()


def connection_body(jira: JiraHarness) -> dict[str, Any]:
    settings = jira.settings()
    return {
        "kind": "jira",
        "name": jira.name,
        "base_url": settings.pop("base_url"),
        "scope": settings.pop("scope"),
        "credentials": {
            name: str(settings.pop(name))
            for name in ("email", "api_token", "personal_access_token")
            if name in settings
        },
        "webhook_secret": settings.pop("webhook_secret"),
        "config": {name: value for name, value in settings.items() if name not in SECRET_FIELDS},
    }


def owner_identities(jira: JiraHarness) -> dict[str, str]:
    person = jira.person()
    # Cloud knows users only by accountId; Data Center by username, kept under its own key.
    return {"jira": person.account_id} if jira.cloud else {"jira_dc": person.name}


def seed(
    client: TestClient, tenant: Tenant, jira: JiraHarness, items: int, mirror_goal: bool = True
) -> SeededPlan:
    connection = create_connection(client, tenant, connection_body(jira))
    return seed_plan(client, tenant, connection, owner_identities(jira), items, mirror_goal)


def issues_by_item(jira: JiraHarness) -> dict[str, Issue]:
    with jira.store.lock:
        issues = [issue for issue in jira.store.issues.values() if not issue.deleted]
    found: dict[str, Issue] = {}
    for issue in issues:
        item_id = item_id_from_labels(issue.labels)
        if item_id is not None:
            assert str(item_id) not in found, "an item was created twice"
            found[str(item_id)] = issue
    return found


def test_items_reach_jira_and_a_transition_comes_back_by_webhook(
    client: TestClient,
    tenant: Tenant,
    jira: JiraHarness,
    served_app: str,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed(client, tenant, jira, items=20)
    registered = client.post(
        f"/api/v1/connections/{seeded.connection_id}/webhook",
        json={"callback_url": f"{served_app}/webhooks/{seeded.connection_id}"},
        headers=tenant.headers,
    )
    assert registered.status_code == 200, registered.text
    run_until_idle(sync_engine)

    issues = issues_by_item(jira)
    epic_link = goal_link(engine, seeded.connection_id, seeded.goal_id)
    epic = issues.pop(seeded.goal_id)
    assert epic.issue_type == "Epic" and epic.summary == "Launch"
    assert sorted(issues) == sorted(seeded.item_ids)
    person = jira.person()
    for item_id, issue in issues.items():
        assert issue.issue_type == "Task"
        assert issue.assignee == person
        assert issue.duedate == seeded.due_date.isoformat()
        assert {MARKER_LABEL, marker_label(uuid.UUID(item_id))} <= set(issue.labels)
        # Cloud links children by ``parent``; Data Center by the Epic Link field (same slot here).
        assert issue.parent_id == epic.id == int(epic_link.external_id or 0)
    links = links_by_item(engine, seeded.connection_id)
    assert all(link.key == issues[item_id].key for item_id, link in links.items())

    jira.emulator.sender.flush()
    run_until_idle(sync_engine)  # the "created" and "updated" deliveries of the pushes
    first = issues[seeded.item_ids[0]]
    deliveries_before = _delivery_count(engine)
    jira.person_sets_status(RemoteRef(str(first.id), first.key), RemoteStatus.done)
    jira.emulator.sender.flush()  # the signed delivery has been POSTed to planbridge
    assert _delivery_count(engine) == deliveries_before + 1
    sync_engine.step()
    assert item_status(engine, seeded.item_ids[0]) == ItemStatus.done
    assert tracker_status_events(engine) == [(seeded.item_ids[0], "done")]
    # The delivery itself carried the change (the step's pull may see it too on Data Center).
    assert _last_delivery_outcome(engine).startswith("applied 1 of 1")


def _delivery_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(WebhookDelivery)).all())


def _last_delivery_outcome(engine: Engine) -> str:
    with Session(engine) as session:
        deliveries = session.exec(select(WebhookDelivery)).all()
    last = max(deliveries, key=lambda delivery: delivery.received_at)
    return last.outcome or ""


def test_without_webhooks_the_next_poll_brings_the_transition(
    client: TestClient,
    tenant: Tenant,
    jira: JiraHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed(client, tenant, jira, items=3)
    run_until_idle(sync_engine)
    connection_id = uuid.UUID(seeded.connection_id)
    # A first poll once the creates are searchable: the cursor now sits at the newest one.
    jira.advance_clock(jira.store.index_lag_seconds + 1)
    sync_engine.pull_due(force_connection=connection_id)
    assert tracker_status_events(engine) == []

    issue = issues_by_item(jira)[seeded.item_ids[1]]
    jira.person_sets_status(RemoteRef(str(issue.id), issue.key), RemoteStatus.done)
    # Within the same minute as the cursor, and only once Cloud's search index shows it.
    jira.advance_clock(jira.store.index_lag_seconds + 1)
    sync_engine.pull_due(force_connection=connection_id)
    assert item_status(engine, seeded.item_ids[1]) == ItemStatus.done
    assert tracker_status_events(engine) == [(seeded.item_ids[1], "done")]
    sync_engine.pull_due(force_connection=connection_id)  # the boundary set: no second event
    assert tracker_status_events(engine) == [(seeded.item_ids[1], "done")]


def test_dropped_item_closes_its_issue_through_the_workflow_and_stays_dropped(
    client: TestClient,
    tenant: Tenant,
    jira: JiraHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed(client, tenant, jira, items=2)
    run_until_idle(sync_engine)
    item_id = seeded.item_ids[0]

    changed = client.patch(
        f"/api/v1/items/{item_id}", json={"status": "dropped"}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    run_until_idle(sync_engine)

    issue = issues_by_item(jira)[item_id]
    assert issue.status.name == "Done"
    if jira.cloud:  # the simplified workflow: no resolution screen, so the label says it
        assert (issue.resolution, DROPPED_LABEL in issue.labels) == ("Done", True)
    else:  # the classic workflow's Resolve Issue Screen takes the resolution
        assert (issue.resolution, DROPPED_LABEL in issue.labels) == ("Won't Do", False)
    jira.advance_clock(jira.store.index_lag_seconds + 1)
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    assert item_status(engine, item_id) == ItemStatus.dropped
    assert tracker_status_events(engine) == []  # the pull reads it back as dropped, not done
