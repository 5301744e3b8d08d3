"""The Jira connector against the emulator over loopback HTTP, both flavours unless named."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from connectors.base import AuthFailed, Invalid, ItemSpec, NotFound, RemoteStatus
from tests.trackers.jira.harness import JiraHarness


def spec(title: str = "Draft the hiring plan", **changes: object) -> ItemSpec:
    values: dict[str, object] = {
        "item_id": uuid.uuid4(),
        "title": title,
        "description": "See [the plan](https://example.com/plan).\n\n- one\n- two",
        "due_date": date(2027, 2, 1),
        "estimate_hours": 2.5,
        "labels": ("q1 goals",),
    }
    values.update(changes)
    return ItemSpec(**values)  # type: ignore[arg-type]


def test_create_is_exactly_one_request(jira: JiraHarness) -> None:
    connector = jira.connector()
    connector.check()  # the library's serverInfo call happens here, once per connector
    before = len(jira.emulator.requests)

    created = connector.create_item(spec())

    requests = jira.emulator.requests[before:]
    version = "3" if jira.cloud else "2"
    assert [(r.method, r.path) for r in requests] == [("POST", f"/rest/api/{version}/issue")]
    assert created.ref.key == "PB-1"


def test_create_writes_fields_in_the_flavours_formats(jira: JiraHarness) -> None:
    connector = jira.connector()
    owner = jira.store.users[1]
    identity = owner.account_id if jira.cloud else owner.name
    wanted = spec(assignee=identity)

    created = connector.create_item(wanted)

    stored = jira.store.issue(created.ref.external_id)
    assert stored is not None
    if jira.cloud:
        assert stored.description["type"] == "doc"  # ADF on REST v3
    else:
        assert stored.description == "See [the plan|https://example.com/plan].\n\n* one\n* two"
    assert stored.assignee == owner
    assert stored.duedate == "2027-02-01"
    assert stored.original_estimate_seconds == 150 * 60
    assert stored.labels == ("q1-goals", "planbridge", f"planbridge-{wanted.item_id}")
    fetched = connector.fetch_item(created.ref)
    assert fetched is not None
    assert (fetched.description, fetched.assignee, fetched.labels) == (
        wanted.description,
        identity,
        ("q1-goals",),
    )


def test_goal_is_an_epic_and_items_link_to_it(jira: JiraHarness) -> None:
    connector = jira.connector()
    goal = connector.create_item(spec("Hire three engineers", kind="goal"))
    item = connector.create_item(spec(parent=goal.ref))

    epic = jira.store.issue(goal.ref.external_id)
    child = jira.store.issue(item.ref.external_id)
    assert epic is not None and epic.issue_type == "Epic"
    assert child is not None and child.parent_id == epic.id
    fetched = connector.fetch_item(item.ref)
    assert fetched is not None and fetched.parent is not None
    assert fetched.parent.key == goal.ref.key


def test_blocked_and_dropped_moves_use_the_overrides(jira: JiraHarness) -> None:
    connector = jira.connector()
    wanted = spec()
    ref = connector.create_item(wanted).ref

    blocked = connector.update_item(
        ref, spec(item_id=wanted.item_id, status=RemoteStatus.blocked), {"status"}
    )
    assert (blocked.status, blocked.raw_status) == (RemoteStatus.blocked, "Blocked")
    back = connector.update_item(
        ref, spec(item_id=wanted.item_id, status=RemoteStatus.in_progress), {"status"}
    )
    assert (back.status, back.raw_status) == (RemoteStatus.in_progress, "In Progress")
    dropped = connector.update_item(
        ref, spec(item_id=wanted.item_id, status=RemoteStatus.dropped), {"status"}
    )
    assert dropped.status is RemoteStatus.dropped
    stored = jira.store.issue(ref.external_id)
    assert stored is not None and stored.status.name == "Done"
    # Data Center's classic workflow has a resolution screen; Cloud's simplified one has none
    # (tests/connectors/jira/test_transitions.py).
    assert stored.resolution == ("Done" if jira.cloud else "Won't Do")


def test_update_clears_and_rewrites_only_named_fields(jira: JiraHarness) -> None:
    connector = jira.connector()
    wanted = spec()
    ref = connector.create_item(wanted).ref
    jira.person_edits(ref, summary="Renamed by a person")

    updated = connector.update_item(
        ref, spec(item_id=wanted.item_id, due_date=None, labels=()), {"due_date", "labels"}
    )

    assert updated.title == "Renamed by a person"
    assert updated.due_date is None
    assert updated.labels == ()
    assert updated.item_id == wanted.item_id  # the marker survives a label rewrite


def test_field_jira_rejects_becomes_invalid_naming_the_field(jira: JiraHarness) -> None:
    connector = jira.connector()
    with pytest.raises(Invalid, match="assignee"):
        connector.create_item(spec(assignee="nobody-known"))


def test_unknown_project_is_not_found_and_wrong_flavour_is_invalid(jira: JiraHarness) -> None:
    with pytest.raises(NotFound):
        jira.connector(scope="NOPE").check()
    other = "datacenter" if jira.cloud else "cloud"
    credentials = (
        {"personal_access_token": "x"} if jira.cloud else {"email": "a@b.c", "api_token": "x"}
    )
    with pytest.raises((Invalid, AuthFailed)):
        jira.connector(deployment=other, **credentials).check()


def test_cloud_search_lags_except_for_issues_the_connector_reconciles(cloud: JiraHarness) -> None:
    writer = cloud.connector()
    wanted = spec()
    created = writer.create_item(wanted)
    restarted = cloud.connector()  # another worker: it knows no id to reconcile

    assert restarted.find_by_marker(wanted.item_id) is None  # the index has not caught up
    found = writer.find_by_marker(wanted.item_id)
    assert found is not None and found.ref.external_id == created.ref.external_id
    assert f"reconcileIssues={created.ref.external_id}" in cloud.emulator.requests[-1].query
    cloud.advance_clock(restarted.marker_lookup_delay().total_seconds() + 1)
    later = restarted.find_by_marker(wanted.item_id)
    assert later is not None and later.item_id == wanted.item_id


def test_cloud_old_search_answers_410_and_connector_uses_search_jql(cloud: JiraHarness) -> None:
    import requests

    answer = requests.get(
        f"{cloud.server.url}/rest/api/3/search",
        params={"jql": "project = PB"},
        auth=cloud.emulator.credentials,  # type: ignore[arg-type]
        timeout=5,
    )
    assert answer.status_code == 410
    assert "search/jql" in answer.json()["errorMessages"][0]
    connector = cloud.connector()
    before = len(cloud.emulator.requests)
    connector.fetch_changes(None)
    paths = [request.path for request in cloud.emulator.requests[before:]]
    assert "/rest/api/3/search/jql" in paths and "/rest/api/3/search" not in paths


def test_pull_overlaps_the_minute_and_returns_each_change_once(jira: JiraHarness) -> None:
    connector = jira.connector()
    refs = [connector.create_item(spec(f"Item {n}")).ref for n in range(3)]
    jira.advance_clock(connector.marker_lookup_delay().total_seconds() + 1)
    first = connector.fetch_changes(None)
    assert {item.ref.external_id for item in first.items} == {ref.external_id for ref in refs}

    # A change in the same JQL minute as the cursor must still be seen, and only once.
    jira.advance_clock(1)
    jira.person_sets_status(refs[1], RemoteStatus.in_progress)
    jira.advance_clock(connector.marker_lookup_delay().total_seconds() + 1)
    second = connector.fetch_changes(first.cursor)
    assert [item.ref.external_id for item in second.items] == [refs[1].external_id]
    assert second.items[0].status is RemoteStatus.in_progress
    assert connector.fetch_changes(second.cursor).items == []


def test_pull_is_one_search_request_per_page(jira: JiraHarness) -> None:
    connector = jira.connector(time_zone="Europe/Berlin")
    connector.create_item(spec())
    jira.advance_clock(connector.marker_lookup_delay().total_seconds() + 1)
    page = connector.fetch_changes(None)
    before = len(jira.emulator.requests)

    connector.fetch_changes(page.cursor)

    assert len(jira.emulator.requests) - before == 1


def test_register_webhook_then_changes_arrive_signed(jira: JiraHarness) -> None:
    connector = jira.connector()
    hook_id = connector.register_webhook("https://planbridge.example.com/webhooks/1")
    assert hook_id == "1"
    (hook,) = jira.store.webhooks
    assert hook["secret"] == "jira-webhook-secret"
    assert "jira:issue_updated" in hook["events"]

    ref = connector.create_item(spec()).ref
    jira.person_sets_status(ref, RemoteStatus.done)

    delivery = jira.emulator.sender.deliveries[-1]
    assert connector.verify_webhook(delivery.headers, delivery.body)
    (hint,) = connector.parse_webhook(delivery.headers, delivery.body)
    assert hint.item is not None and hint.item.status is RemoteStatus.done
    assert hint.ref is not None and hint.ref.external_id == ref.external_id


def test_fetch_of_a_deleted_issue_is_none(jira: JiraHarness) -> None:
    connector = jira.connector()
    ref = connector.create_item(spec()).ref
    issue = jira.store.issue(ref.external_id)
    assert issue is not None
    jira.store.delete(issue)
    assert connector.fetch_item(ref) is None
