"""The contract every connector passes unchanged, against its emulator over loopback HTTP.

The harnesses are listed in tests/contract/conftest.py; what they provide is in harness.py.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from connectors.base import (
    AuthFailed,
    ChangePage,
    Connector,
    ItemSpec,
    RateLimited,
    RemoteItem,
    RemoteRef,
    RemoteStatus,
    Transient,
)
from tests.contract.harness import SeedingHarness, TrackerHarness

PAGINATION_OBJECTS = 250
# Enough pages for any tracker's page size; a cursor that never stops says "has_more" forever.
MAX_PAGES = 100


def make_spec(title: str = "Write the onboarding guide", **changes: Any) -> ItemSpec:
    values: dict[str, Any] = {
        "item_id": uuid.uuid4(),
        "title": title,
        "description": "Steps a new hire follows in the first week.",
        "due_date": date(2027, 3, 1),
        "estimate_hours": 4.0,
    }
    values.update(changes)
    return ItemSpec(**values)


def read_all_changes(
    connector: Connector, cursor: dict[str, Any] | None
) -> tuple[list[RemoteItem], dict[str, Any], int]:
    """Follow ``fetch_changes`` to its end: the items, the final cursor and the page count."""
    items: list[RemoteItem] = []
    for pages in range(1, MAX_PAGES + 1):
        page: ChangePage = connector.fetch_changes(cursor)
        items.extend(page.items)
        cursor = page.cursor
        if not page.has_more:
            return items, cursor, pages
    raise AssertionError(f"fetch_changes still had more after {MAX_PAGES} pages")


def wait_out_lookup_delay(harness: TrackerHarness, connector: Connector) -> None:
    harness.advance_clock(connector.marker_lookup_delay().total_seconds() + 1)


def create_through_connector(
    harness: TrackerHarness, connector: Connector, count: int
) -> list[RemoteRef]:
    """Create ``count`` objects, waiting out any write limit on the emulator clock."""
    refs: list[RemoteRef] = []
    while len(refs) < count:
        try:
            refs.append(connector.create_item(make_spec(f"Seeded item {len(refs)}")).ref)
        except RateLimited as limited:
            harness.advance_clock(limited.retry_after + 1)
    return refs


def test_check_accepts_good_credentials_and_target(connector: Connector) -> None:
    connector.check()


def test_bad_credentials_raise_auth_failed(harness: TrackerHarness) -> None:
    refused = harness.connector_with_bad_credentials()
    try:
        with pytest.raises(AuthFailed):
            refused.check()
    finally:
        refused.close()


def test_create_then_fetch_returns_the_created_item(
    harness: TrackerHarness, connector: Connector
) -> None:
    before = harness.object_count()
    spec = make_spec()

    created = connector.create_item(spec)
    fetched = connector.fetch_item(created.ref)

    assert created.item_id == spec.item_id
    assert created.title == spec.title
    assert created.description.strip() == spec.description
    assert created.status is RemoteStatus.todo
    assert fetched is not None
    assert fetched.ref.external_id == created.ref.external_id
    assert (fetched.title, fetched.item_id, fetched.status) == (
        spec.title,
        spec.item_id,
        RemoteStatus.todo,
    )
    assert harness.object_count() == before + 1


def test_update_writes_only_the_requested_fields(
    harness: TrackerHarness, connector: Connector
) -> None:
    spec = make_spec()
    ref = connector.create_item(spec).ref
    harness.person_sets_status(ref, RemoteStatus.in_progress)
    replanned = make_spec(
        "Write and review the onboarding guide",
        item_id=spec.item_id,
        description="A new description planbridge has not been asked to write yet.",
        status=RemoteStatus.todo,
    )

    retitled = connector.update_item(ref, replanned, {"title"})

    assert retitled.title == replanned.title
    assert retitled.description.strip() == spec.description
    assert retitled.status is RemoteStatus.in_progress  # the tracker owns status unless asked

    moved = connector.update_item(
        ref, make_spec(item_id=spec.item_id, status=RemoteStatus.done), {"status"}
    )

    assert moved.status is RemoteStatus.done
    assert moved.title == replanned.title
    fetched = connector.fetch_item(ref)
    assert fetched is not None
    assert (fetched.title, fetched.status) == (replanned.title, RemoteStatus.done)


def test_status_change_by_a_person_is_reported_by_fetch_changes(
    harness: TrackerHarness, connector: Connector
) -> None:
    connector.create_item(make_spec("Left alone"))
    changed = connector.create_item(make_spec("Finished by a person")).ref
    wait_out_lookup_delay(harness, connector)
    _, cursor, _ = read_all_changes(connector, None)

    harness.advance_clock(5)
    harness.person_sets_status(changed, RemoteStatus.done)
    wait_out_lookup_delay(harness, connector)
    reported, cursor, _ = read_all_changes(connector, cursor)

    assert [item.ref.external_id for item in reported] == [changed.external_id]
    assert reported[0].status is RemoteStatus.done
    again, _, _ = read_all_changes(connector, cursor)
    assert again == []


def test_fetch_changes_pages_through_every_object_once(
    harness: TrackerHarness, connector: Connector
) -> None:
    if isinstance(harness, SeedingHarness):
        seeded = harness.seed_items(PAGINATION_OBJECTS - 1)
    else:
        seeded = create_through_connector(harness, connector, PAGINATION_OBJECTS - 1)
    # One object takes the real path, so seeding and the connector must agree on the format.
    seeded.append(connector.create_item(make_spec("Created through the connector")).ref)
    wait_out_lookup_delay(harness, connector)

    items, _, pages = read_all_changes(connector, None)

    external_ids = [item.ref.external_id for item in items]
    assert len(external_ids) == len(set(external_ids))
    assert {ref.external_id for ref in seeded} <= set(external_ids)
    assert pages > 1
    assert all(item.item_id is not None for item in items)


def test_webhook_with_real_signature_is_parsed_and_forged_one_refused(
    harness: TrackerHarness, connector: Connector
) -> None:
    ref = connector.create_item(make_spec()).ref
    harness.person_edits_title(ref, "Renamed by a person")
    headers, body = harness.signed_webhook_for(ref)

    assert connector.verify_webhook(headers, body)
    hints = connector.parse_webhook(headers, body)
    hinted = {hint.ref.external_id for hint in hints if hint.ref is not None}
    assert ref.external_id in hinted
    delivery_id = connector.webhook_delivery_id(headers, body)
    assert delivery_id
    assert connector.webhook_delivery_id(headers, body) == delivery_id

    assert not connector.verify_webhook(headers, body + b" ")
    assert not connector.verify_webhook(headers, body.replace(b"Renamed", b"Forged"))
    other_secret = harness.connector(webhook_secret="not the secret the tracker signs with")
    try:
        assert not other_secret.verify_webhook(headers, body)
    finally:
        other_secret.close()


def test_rate_limit_answer_raises_rate_limited_with_the_trackers_wait(
    harness: TrackerHarness, connector: Connector
) -> None:
    ref = connector.create_item(make_spec()).ref
    harness.inject_fault("rate_limit", retry_after=17)

    with pytest.raises(RateLimited) as limited:
        connector.fetch_item(ref)

    assert limited.value.retry_after == pytest.approx(17, abs=1)
    assert connector.fetch_item(ref) is not None  # the fault was one answer, not a broken connector


@pytest.mark.parametrize("fault", ["server_error", "drop_connection"])
def test_server_errors_and_dropped_connections_are_transient(
    harness: TrackerHarness, connector: Connector, fault: str
) -> None:
    ref = connector.create_item(make_spec()).ref
    harness.inject_fault(fault)

    with pytest.raises(Transient):
        connector.fetch_item(ref)

    assert connector.fetch_item(ref) is not None


def test_create_whose_response_is_lost_is_found_by_marker_not_created_twice(
    harness: TrackerHarness, connector: Connector
) -> None:
    before = harness.object_count()
    spec = make_spec()
    harness.inject_fault("lose_create_response")

    with pytest.raises(Transient):
        connector.create_item(spec)
    wait_out_lookup_delay(harness, connector)
    found = connector.find_by_marker(spec.item_id)

    assert found is not None
    assert found.item_id == spec.item_id
    assert found.title == spec.title
    assert harness.object_count() == before + 1
    assert connector.find_by_marker(uuid.uuid4()) is None
