"""Drift over real HTTP: a person's edit in the tracker of a field planbridge owns is kept until
planbridge changes that field again, and recorded as an event -- title, description and assignee,
on each tracker's emulator (GitHub, Jira Cloud with ADF, Jira Data Center with wiki text,
Trello)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import Connection, ExternalLink, ItemEvent
from connectors.base import RemoteItem, RemoteRef
from connectors.jira import adf
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign, webhook_body
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed
from tests.sync.e2e import SeededPlan, create_connection, create_github_connection, seed_plan
from tests.trackers.github.emulator import PERSON
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.jira.harness import JiraCloudHarness, JiraDataCenterHarness, JiraHarness
from tests.trackers.trello.harness import TrelloHarness

PERSON_TITLE = "Title a person chose"
PERSON_TEXT = "A person rewrote this.\n\nWith a second paragraph."


@dataclass
class Tracker:
    """One emulator behind the same few moves: seed, a person's edit, another account."""

    name: str
    seed: Callable[[TestClient, Tenant], SeededPlan]
    # (external id, title, description, assignee identity) as a person in the tracker's UI.
    person_edits: Callable[[str, str, str, str], None]
    other_identity: str
    identity_kind: str
    close: Callable[[], None]
    # What a pull must wait for to see the latest edit (Jira's search index lags).
    settle: Callable[[], None] = lambda: None


def _github() -> Tracker:
    harness = GitHubHarness()

    def seed(client: TestClient, tenant: Tenant) -> SeededPlan:
        connection = create_github_connection(client, tenant, harness)
        return seed_plan(client, tenant, connection, {"github": "octocat"}, 1)

    def edit(external_id: str, title: str, text: str, login: str) -> None:
        number = int(external_id)
        issue = harness.emulator.repository.issues[number]
        # The person edits the visible text; the hidden marker line stays where it was.
        marker = issue.body.rsplit("\n", 1)[-1]
        body = f"{text}\n\n{marker}"
        harness.emulator.update_issue(
            number, {"title": title, "body": body, "assignees": [login]}, PERSON
        )

    return Tracker("github", seed, edit, "hubot", "github", harness.close)


def _jira(cloud: bool = True) -> Tracker:
    harness: JiraHarness = JiraCloudHarness() if cloud else JiraDataCenterHarness()
    # Cloud knows users by accountId and takes ADF; Data Center by username and takes wiki text.
    kind = "jira" if cloud else "jira_dc"

    def identity(user: Any) -> str:
        return str(user.account_id if cloud else user.name)

    def seed(client: TestClient, tenant: Tenant) -> SeededPlan:
        settings = harness.settings()
        secrets = ("email", "api_token", "personal_access_token")
        body = {
            "kind": "jira",
            "name": harness.name,
            "base_url": settings.pop("base_url"),
            "scope": settings.pop("scope"),
            "credentials": {name: str(settings.pop(name)) for name in secrets if name in settings},
            "webhook_secret": settings.pop("webhook_secret"),
            "config": settings,
        }
        connection = create_connection(client, tenant, body)
        identities = {kind: identity(harness.person())}
        return seed_plan(client, tenant, connection, identities, 1, mirror_goal=False)

    def edit(external_id: str, title: str, text: str, user: str) -> None:
        ref = RemoteRef(external_id)
        description = adf.markdown_to_adf(text) if cloud else adf.markdown_to_wiki(text)
        harness.person_edits(ref, summary=title, description=description)
        harness.person_assigns(ref, user)

    def settle() -> None:
        harness.advance_clock(harness.store.index_lag_seconds + 1)

    bob = identity(harness.store.users[2])
    return Tracker("jira", seed, edit, bob, kind, harness.close, settle)


def _trello() -> Tracker:
    harness = TrelloHarness()
    emulator = harness.emulator

    def seed(client: TestClient, tenant: Tenant) -> SeededPlan:
        connection = create_connection(
            client,
            tenant,
            {
                "kind": "trello",
                "name": "Trello",
                "base_url": emulator.url,
                "scope": emulator.board["id"],
                "credentials": {"api_key": emulator.api_key, "api_token": emulator.token},
                "webhook_secret": emulator.app_secret,
            },
        )
        return seed_plan(client, tenant, connection, {"trello": emulator.person["id"]}, 1)

    def edit(external_id: str, title: str, text: str, member_id: str) -> None:
        marker = str(emulator.store.card(external_id)["desc"]).rsplit("\n", 1)[-1]
        emulator.person_edits(
            external_id, name=title, desc=f"{text}\n\n{marker}", idMembers=[member_id]
        )

    return Tracker("trello", seed, edit, emulator.bot["id"], "trello", harness.close)


@pytest.fixture(params=["github", "jira", "jira_dc", "trello"])
def tracker(request: pytest.FixtureRequest) -> Iterator[Tracker]:
    factories: dict[str, Callable[[], Tracker]] = {
        "github": _github,
        "jira": _jira,
        "jira_dc": lambda: _jira(cloud=False),
        "trello": _trello,
    }
    built = factories[request.param]()
    yield built
    built.close()


def _link(engine: Engine, item_id: str) -> ExternalLink:
    with Session(engine) as session:
        return session.exec(
            select(ExternalLink).where(ExternalLink.item_id == uuid.UUID(item_id))
        ).one()


def _remote(sync_engine: SyncEngine, engine: Engine, item_id: str) -> RemoteItem:
    link = _link(engine, item_id)
    with Session(engine) as session:
        connection = session.get(Connection, link.connection_id)
    assert connection is not None and link.external_id is not None
    connector = sync_engine.context.connector(connection)
    found = connector.fetch_item(RemoteRef(link.external_id, link.key, link.url))
    assert found is not None
    return found


def _drift(engine: Engine) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    with Session(engine) as session:
        events = session.exec(
            select(ItemEvent).where(ItemEvent.kind == "drift").order_by(ItemEvent.field)
        ).all()
    return [(event.field, event.to_value, dict(event.data or {})) for event in events]


def test_a_persons_edits_are_kept_recorded_and_replaced_only_by_a_planbridge_change(
    client: TestClient,
    tenant: Tenant,
    tracker: Tracker,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = tracker.seed(client, tenant)
    colleague = client.post(
        "/api/v1/people",
        json={"name": "Colleague", "identities": {tracker.identity_kind: tracker.other_identity}},
        headers=tenant.headers,
    )
    assert colleague.status_code == 201, colleague.text
    item_id = seeded.item_ids[0]
    run_until_idle(sync_engine)
    assert _drift(engine) == []  # our own writes read back are not drift
    external_id = _link(engine, item_id).external_id
    assert external_id is not None

    tracker.person_edits(external_id, PERSON_TITLE, PERSON_TEXT, tracker.other_identity)
    tracker.settle()
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    drift = _drift(engine)
    assert [(name, value) for name, value, _ in drift] == [
        ("assignee", tracker.other_identity),
        ("description", PERSON_TEXT),
        ("title", PERSON_TITLE),
    ]
    # The tracker account is mapped back to the planbridge person who holds it.
    assert drift[0][2]["person_id"] == colleague.json()["id"]

    # A planning change of another field is pushed without touching the person's edits.
    changed = client.patch(
        f"/api/v1/items/{item_id}",
        json={"estimate_hours": 6, "due_date": "2031-01-15"},
        headers=tenant.headers,
    )
    assert changed.status_code == 200, changed.text
    run_until_idle(sync_engine)
    remote = _remote(sync_engine, engine, item_id)
    assert (remote.title, remote.description, remote.assignee) == (
        PERSON_TITLE,
        PERSON_TEXT,
        tracker.other_identity,
    )
    if tracker.name != "github":  # GitHub issues have no due date (milestones do)
        assert str(remote.due_date) == "2031-01-15"
    tracker.settle()
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    assert len(_drift(engine)) == 3  # recorded once, not at every pass

    # planbridge changes the description again: now its text wins, the rest stays the person's.
    ours = "planbridge's new description"
    changed = client.patch(
        f"/api/v1/items/{item_id}", json={"description": ours}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    run_until_idle(sync_engine)
    remote = _remote(sync_engine, engine, item_id)
    assert (remote.title, remote.description, remote.assignee) == (
        PERSON_TITLE,
        ours,
        tracker.other_identity,
    )
    tracker.settle()
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    assert len(_drift(engine)) == 3


def test_an_edit_the_pull_has_not_seen_yet_is_recorded_by_the_next_push(
    client: TestClient,
    tenant: Tenant,
    tracker: Tracker,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = tracker.seed(client, tenant)
    item_id = seeded.item_ids[0]
    run_until_idle(sync_engine)
    external_id = _link(engine, item_id).external_id
    assert external_id is not None
    tracker.person_edits(external_id, PERSON_TITLE, PERSON_TEXT, tracker.other_identity)
    # No pull in between: the push of a due date reads the person's edits back.
    changed = client.patch(
        f"/api/v1/items/{item_id}", json={"due_date": "2031-02-01"}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    sync_engine.push_pending()
    assert [name for name, _, _ in _drift(engine)] == ["assignee", "description", "title"]
    assert _drift(engine)[0][2]["person_id"] is None  # nobody in planbridge holds that account
    tracker.settle()
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    assert len(_drift(engine)) == 3


def test_a_webhook_carrying_the_whole_object_is_no_drift_when_nobody_edited(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    [stored] = seeded.tracker.all_items()
    changed = seeded.tracker.person_sets_status(str(stored.id), "in_progress")
    assert changed is not None
    body = webhook_body(changed)
    headers = {SIGNATURE_HEADER: sign(seeded.webhook_secret, body), DELIVERY_HEADER: "d-1"}
    response = client.post(f"/webhooks/{seeded.connection_id}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    run_until_idle(sync_engine)
    assert _drift(engine) == []
