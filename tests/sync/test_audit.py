"""The daily audit (sync/audit.py) against the emulators, on SQLite and PostgreSQL.

Without webhooks a deleted object keeps its last status for ever and a GitHub issue whose
planbridge label was removed leaves the poll's filter. The audit re-reads every link within the
audit interval: a missing object is tombstoned only when the tracker proves it gone (404/410),
never on a 5xx, and a found object is applied like a pulled change.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.models import Connection, ExternalLink
from app.models.planning import ItemStatus
from app.settings import Settings
from connectors.base import MARKER_LABEL, RemoteRef, RemoteStatus, Transient
from connectors.github.mapping import item_id_from_body
from connectors.trello.mapping import item_id_from_description
from sync.audit import audit_connection, audit_quota, due_links
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.retry import NO_WAIT_POLICY
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle
from tests.sync.e2e import (
    SeededPlan,
    create_connection,
    create_github_connection,
    item_status,
    seed_plan,
)
from tests.sync.test_end_to_end_jira import connection_body, owner_identities
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.jira.harness import JiraCloudHarness
from tests.trackers.trello.harness import TrelloHarness

AGE = timedelta(days=2)


class ShiftedClock:
    """The system clock moved on by ``offset``: the audit's days pass in a test's seconds."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def audit_context(
    engine: Engine, settings: Settings, clock: ShiftedClock
) -> Iterator[EngineContext]:
    built = EngineContext(
        engine, settings, worker_id="auditor", clock=clock, retry_policy=NO_WAIT_POLICY
    )
    yield built
    built.close()


def seed_trello(
    client: TestClient, tenant: Tenant, trello: TrelloHarness, items: int
) -> SeededPlan:
    emulator = trello.emulator
    body = {
        "kind": "trello",
        "name": "Trello",
        "base_url": emulator.url,
        "scope": emulator.board["id"],
        "credentials": {"api_key": emulator.api_key, "api_token": emulator.token},
        "webhook_secret": emulator.app_secret,
    }
    connection = create_connection(client, tenant, body)
    return seed_plan(client, tenant, connection, {"trello": emulator.person["id"]}, items)


def seed_github(
    client: TestClient, tenant: Tenant, github: GitHubHarness, items: int
) -> SeededPlan:
    connection = create_github_connection(client, tenant, github)
    return seed_plan(client, tenant, connection, {"github": "octocat"}, items)


def age_links(engine: Engine, connection_id: str) -> None:
    """Links made two days ago: past their first audit."""
    with Session(engine) as session:
        for link in session.exec(
            select(ExternalLink).where(ExternalLink.connection_id == uuid.UUID(connection_id))
        ).all():
            link.created_at = link.created_at - AGE
            session.add(link)
        session.commit()


def item_links(engine: Engine, connection_id: str) -> dict[str, ExternalLink]:
    with Session(engine) as session:
        links = session.exec(
            select(ExternalLink).where(
                ExternalLink.connection_id == uuid.UUID(connection_id),
                col(ExternalLink.item_id).is_not(None),
            )
        ).all()
    return {str(link.item_id): link for link in links}


def card_of(trello: TrelloHarness, item_id: str) -> dict[str, Any]:
    with trello.emulator.store.lock:
        cards = list(trello.emulator.store.cards.values())
    return next(card for card in cards if str(item_id_from_description(card["desc"])) == item_id)


def issue_number_of(github: GitHubHarness, item_id: str) -> int:
    issues = github.emulator.repository.issues.values()
    return next(i.number for i in issues if str(item_id_from_body(i.body)) == item_id)


# ------------------------------------------------------------------------------------ Trello


def test_the_engines_pull_pass_audits_links_that_are_due(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed_trello(client, tenant, trello, items=3)
    run_until_idle(sync_engine)
    fresh = item_links(engine, seeded.connection_id).values()
    assert all(link.last_audited_at is None for link in fresh)  # a new link was just read
    age_links(engine, seeded.connection_id)

    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))

    links = item_links(engine, seeded.connection_id)
    assert all(link.last_audited_at is not None for link in links.values())


def test_trello_audit_tombstones_a_card_deleted_without_a_trace_in_the_poll(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    seeded = seed_trello(client, tenant, trello, items=3)
    run_until_idle(sync_engine)
    gone, *kept = seeded.item_ids
    trello.emulator.person_deletes(card_of(trello, gone)["id"])
    age_links(engine, seeded.connection_id)

    counts = audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    links = item_links(engine, seeded.connection_id)
    assert links[gone].tombstoned_at is not None
    assert all(links[item].tombstoned_at is None for item in kept)
    assert counts["vanished"] == 1


def test_trello_audit_reads_a_slice_of_cards_in_one_board_listing(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    seeded = seed_trello(client, tenant, trello, items=30)
    run_until_idle(sync_engine)
    age_links(engine, seeded.connection_id)
    trello.emulator.request_log.clear()

    counts = audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    assert counts["audited"] == 30  # the goal has no mirror here
    # Beside the listing, a connector new to this thread reads the board's lists once.
    paths = [path for _, path in trello.emulator.request_log]
    board = trello.emulator.board["id"]
    assert [path for path in paths if not path.endswith("/lists")] == [f"/1/boards/{board}/cards"]


def test_links_made_together_are_audited_in_external_id_order(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    """Links sharing a creation instant (a bulk import) form slices of neighbouring card ids,
    so each slice is one range of the board's listing, not ids from all over the board."""
    seeded = seed_trello(client, tenant, trello, items=12)
    run_until_idle(sync_engine)
    made = datetime.now(UTC) - AGE
    with Session(engine) as session:
        rows = session.exec(
            select(ExternalLink).where(
                ExternalLink.connection_id == uuid.UUID(seeded.connection_id)
            )
        ).all()
        for link in rows:
            link.created_at = made
            session.add(link)
        session.commit()
        connection = session.get(Connection, uuid.UUID(seeded.connection_id))
        assert connection is not None
        ids = sorted(str(link.external_id) for link in rows if link.external_id)

        slice_ = due_links(session, connection, 5, timedelta(hours=24), datetime.now(UTC))

    assert [link.external_id for link in slice_] == ids[:5]


def test_trello_audit_of_a_range_crowded_with_other_cards_batches_the_rest(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    """Between planbridge's cards, people made 1,000 of their own: the listing reads as many
    pages as the batches would cost (one for 10 cards), and the cards below it go by batch."""
    seeded = seed_trello(client, tenant, trello, items=5)
    run_until_idle(sync_engine)
    emulator = trello.emulator
    for number in range(1000):
        emulator.store.create_card(
            emulator.person, {"idList": emulator.list_id("To Do"), "name": f"Own {number}"}
        )
    for number in range(5):
        response = client.post(
            "/api/v1/items",
            json={
                "goal_id": seeded.goal_id,
                "title": f"Later {number}",
                "owner_id": seeded.person_id,
                "due_date": seeded.due_date.isoformat(),
                "estimate_hours": 1,
            },
            headers=tenant.headers,
        )
        assert response.status_code == 201, response.text
    run_until_idle(sync_engine)
    older = card_of(trello, seeded.item_ids[0])["id"]
    emulator.person_deletes(older)
    age_links(engine, seeded.connection_id)
    emulator.request_log.clear()

    counts = audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    paths = [path for _, path in emulator.request_log if not path.endswith("/lists")]
    card_reads = [path for path in paths if path != "/1/batch"]
    board = emulator.board["id"]
    assert card_reads == [f"/1/boards/{board}/cards", f"/1/cards/{older}"]
    assert paths.count("/1/batch") == 1  # the 5 older cards, one of them gone (404)
    assert counts["audited"] == 10 and counts["vanished"] == 1
    links = item_links(engine, seeded.connection_id)
    assert [item for item, link in links.items() if link.tombstoned_at] == [seeded.item_ids[0]]


def test_trello_audit_applies_a_move_it_finds(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    seeded = seed_trello(client, tenant, trello, items=1)
    run_until_idle(sync_engine)
    [item_id] = seeded.item_ids
    trello.emulator.person_moves(card_of(trello, item_id)["id"], "Done")
    age_links(engine, seeded.connection_id)

    audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    assert item_status(engine, item_id) == ItemStatus.done


def test_trello_audit_never_tombstones_on_a_server_error(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    seeded = seed_trello(client, tenant, trello, items=2)
    run_until_idle(sync_engine)
    age_links(engine, seeded.connection_id)
    trello.emulator.faults.inject("server_error", 10, path_contains="/1/")

    with pytest.raises(Transient):
        audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    links = item_links(engine, seeded.connection_id)
    assert all(link.tombstoned_at is None for link in links.values())
    assert all(link.last_audited_at is None for link in links.values())


def test_audit_covers_every_link_within_the_interval_at_one_read_per_link(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
    clock: ShiftedClock,
) -> None:
    """25 links, a 1-hour interval, a pass every 5 minutes for two hours: each link is read
    within the first hour and then at most an interval apart, in slices of 100 (one listing
    covers 25; a link is due again 55 minutes after its read, so two hours hold at most 3
    rounds)."""
    seeded = seed_trello(client, tenant, trello, items=25)
    run_until_idle(sync_engine)
    age_links(engine, seeded.connection_id)
    audit_context.settings = audit_context.settings.model_copy(update={"audit_interval_hours": 1.0})
    poll = timedelta(seconds=300)  # the connection's default poll interval
    audits: dict[str, list[datetime]] = {item: [] for item in seeded.item_ids}
    trello.emulator.request_log.clear()
    started = clock.now()
    for _ in range(24):  # two intervals of passes
        audit_connection(audit_context, uuid.UUID(seeded.connection_id))
        for item, link in item_links(engine, seeded.connection_id).items():
            stamp = link.last_audited_at
            if stamp is not None and stamp not in audits[item]:
                audits[item].append(stamp)
        clock.sleep(poll.total_seconds())

    interval = timedelta(hours=1)
    for stamps in audits.values():
        assert stamps and stamps[0] - started < interval
        assert all(later - earlier <= interval for earlier, later in itertools.pairwise(stamps))
        assert 2 <= len(stamps) <= 3
    listings = [path for _, path in trello.emulator.request_log if path.endswith("/cards")]
    assert len(listings) <= 3


def test_audit_quota_covers_the_links_in_whole_batches() -> None:
    day, poll = timedelta(hours=24), timedelta(minutes=5)
    assert audit_quota(10_000, poll, day, 100) == 100  # 288 passes of 35 -> one search of 100
    assert audit_quota(10_000, poll, day, 10) == 40
    assert audit_quota(0, poll, day, 10) == 0
    assert audit_quota(3, timedelta(hours=48), day, 10) == 10


# ------------------------------------------------------------------------------------ GitHub


def test_github_audit_tombstones_a_deleted_issue_on_its_410(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    seeded = seed_github(client, tenant, github, items=2)
    run_until_idle(sync_engine)
    gone, kept = seeded.item_ids
    github.emulator.person_deletes(issue_number_of(github, gone))
    age_links(engine, seeded.connection_id)

    counts = audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    links = item_links(engine, seeded.connection_id)
    assert links[gone].tombstoned_at is not None and links[kept].tombstoned_at is None
    assert counts["vanished"] == 1


def test_github_audit_tombstones_the_deleted_issue_of_its_own_repository_only(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    """Two repositories of one connection, an issue of the same number in each: the 410 of the
    other repository's issue tombstones that link, not this repository's."""
    elsewhere = github.emulator.add_repository("planbridge-test", "elsewhere")
    for existing in list(github.emulator.repository.issues.values()):  # people's own issues
        github.emulator.create_issue({"title": existing.title}, "octocat", elsewhere)
    seeded = seed_github(client, tenant, github, items=2)
    here, there = seeded.item_ids
    response = client.patch(
        f"/api/v1/items/{there}", json={"scope": elsewhere.full_name}, headers=tenant.headers
    )
    assert response.status_code == 200
    run_until_idle(sync_engine)
    links = item_links(engine, seeded.connection_id)
    assert links[here].external_id == links[there].external_id  # the same number in both
    github.emulator.person_deletes(int(str(links[there].external_id)), repo=elsewhere)
    age_links(engine, seeded.connection_id)

    counts = audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    links = item_links(engine, seeded.connection_id)
    assert links[there].tombstoned_at is not None and links[here].tombstoned_at is None
    assert counts["vanished"] == 1


def test_github_audit_notices_a_label_removed_then_closed_issue(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    seeded = seed_github(client, tenant, github, items=1)
    run_until_idle(sync_engine)
    [item_id] = seeded.item_ids
    number = issue_number_of(github, item_id)
    labels = [name for name in github.emulator.issue(number).labels if name != MARKER_LABEL]
    github.emulator.person_sets_labels(number, labels)
    github.emulator.person_closes(number, "completed")
    run_until_idle(sync_engine)  # the poll filters on the label: it cannot see this issue
    assert item_status(engine, item_id) != ItemStatus.done
    age_links(engine, seeded.connection_id)

    audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    assert item_status(engine, item_id) == ItemStatus.done


def test_github_audit_of_unchanged_issues_is_answered_304_at_no_cost(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
    clock: ShiftedClock,
) -> None:
    seeded = seed_github(client, tenant, github, items=3)
    run_until_idle(sync_engine)
    age_links(engine, seeded.connection_id)
    audit_connection(audit_context, uuid.UUID(seeded.connection_id))
    github.emulator.request_log.clear()
    clock.sleep(AGE.total_seconds())

    counts = audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    assert counts["audited"] == 3
    issue_reads = [row for row in github.emulator.request_log if "/issues/" in row[1]]
    assert [status for _, _, status in issue_reads] == [304, 304, 304]


def test_github_audit_never_tombstones_on_a_server_error(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    seeded = seed_github(client, tenant, github, items=1)
    run_until_idle(sync_engine)
    age_links(engine, seeded.connection_id)
    github.inject_fault("server_error", 10)

    with pytest.raises(Transient):
        audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    [link] = item_links(engine, seeded.connection_id).values()
    assert link.tombstoned_at is None


# ------------------------------------------------------------------------------------ Jira


def test_jira_audit_tombstones_an_issue_missing_from_the_search_and_404_alone(
    client: TestClient,
    tenant: Tenant,
    jira: JiraCloudHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    connection = create_connection(client, tenant, connection_body(jira))
    seeded = seed_plan(client, tenant, connection, owner_identities(jira), 2)
    run_until_idle(sync_engine)
    gone, kept = seeded.item_ids
    links = item_links(engine, seeded.connection_id)
    with jira.store.lock:
        issue = next(i for i in jira.store.issues.values() if i.key == links[gone].key)
    jira.store.delete(issue)
    age_links(engine, seeded.connection_id)

    counts = audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    links = item_links(engine, seeded.connection_id)
    assert links[gone].tombstoned_at is not None and links[kept].tombstoned_at is None
    assert counts["vanished"] == 1


def test_jira_audit_drops_the_keys_a_refused_search_names_and_tombstones_them_on_their_404(
    client: TestClient,
    tenant: Tenant,
    jira: JiraCloudHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    """Jira refuses a ``key in (...)`` naming an issue that no longer exists, naming each such
    key: the audit searches again without them and asks for each alone."""
    connection = create_connection(client, tenant, connection_body(jira))
    seeded = seed_plan(client, tenant, connection, owner_identities(jira), 3)
    run_until_idle(sync_engine)
    *gone, kept = seeded.item_ids
    links = item_links(engine, seeded.connection_id)
    with jira.store.lock:
        issues = {i.key: i for i in jira.store.issues.values()}
    for item_id in gone:
        jira.store.delete(issues[str(links[item_id].key)])
    kept_ref = RemoteRef(str(links[kept].external_id), links[kept].key)
    jira.person_sets_status(kept_ref, RemoteStatus.done)
    jira.advance_clock(jira.store.index_lag_seconds + 1)
    age_links(engine, seeded.connection_id)
    sent = len(jira.emulator.requests)

    counts = audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    requests = jira.emulator.requests[sent:]
    searches = [unquote_plus(r.query) for r in requests if r.path.endswith("/search/jql")]
    gone_keys = sorted(str(links[item_id].key) for item_id in gone)
    assert len(searches) == 2
    assert all(key in searches[0] for key in [*gone_keys, str(kept_ref.key)])
    assert str(kept_ref.key) in searches[1] and not any(key in searches[1] for key in gone_keys)
    alone = sorted(r.path.rsplit("/", 1)[1] for r in requests if "/issue/" in r.path)
    assert alone == sorted(str(links[item_id].external_id) for item_id in gone)
    links = item_links(engine, seeded.connection_id)
    assert all(links[item_id].tombstoned_at is not None for item_id in gone)
    assert links[kept].tombstoned_at is None
    assert item_status(engine, kept) == ItemStatus.done
    assert counts["vanished"] == 2


def test_jira_audit_never_tombstones_on_a_server_error(
    client: TestClient,
    tenant: Tenant,
    jira: JiraCloudHarness,
    sync_engine: SyncEngine,
    engine: Engine,
    audit_context: EngineContext,
) -> None:
    connection = create_connection(client, tenant, connection_body(jira))
    seeded = seed_plan(client, tenant, connection, owner_identities(jira), 1)
    run_until_idle(sync_engine)
    age_links(engine, seeded.connection_id)
    jira.inject_fault("server_error", 10)

    with pytest.raises(Transient):
        audit_connection(audit_context, uuid.UUID(seeded.connection_id))

    [link] = item_links(engine, seeded.connection_id).values()
    assert link.tombstoned_at is None
