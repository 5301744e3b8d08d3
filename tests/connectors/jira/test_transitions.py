"""Transition screens: Jira takes a field in a transition only when the transition's screen has it.

The emulator's workflows are Jira's defaults: the simplified workflow (Cloud team-managed projects)
has no screens, the classic one (Data Center) shows the Resolve Issue Screen on the way to Done.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connectors.base import ItemSpec, RemoteRef, RemoteStatus
from connectors.jira.mapping import DROPPED_LABEL
from tests.trackers.jira.harness import JiraCloudHarness, JiraDataCenterHarness, JiraHarness

NOT_ON_SCREEN = "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."


@pytest.fixture(params=["simplified", "classic"])
def workflow_jira(request: pytest.FixtureRequest) -> Iterator[JiraHarness]:
    """Both default workflows on both flavours' REST versions."""
    harness: JiraHarness = (
        JiraCloudHarness(workflow=request.param)
        if request.param == "simplified"
        else JiraDataCenterHarness(workflow=request.param)
    )
    try:
        yield harness
    finally:
        harness.close()


def spec(item_id: uuid.UUID, status: RemoteStatus | None = None, **changes: Any) -> ItemSpec:
    return ItemSpec(item_id=item_id, title="Ship the onboarding guide", status=status, **changes)


def call(jira: JiraHarness, method: str, path: str, **kwargs: Any) -> requests.Response:
    version = "3" if jira.cloud else "2"
    if jira.cloud:
        kwargs["auth"] = jira.emulator.credentials
    else:
        kwargs["headers"] = {"Authorization": f"Bearer {jira.emulator.credentials}"}
    return requests.request(
        method, f"{jira.server.url}/rest/api/{version}{path}", timeout=5, **kwargs
    )


def created(jira: JiraHarness) -> tuple[RemoteRef, uuid.UUID]:
    item_id = uuid.uuid4()
    return jira.connector().create_item(spec(item_id)).ref, item_id


def test_transition_without_a_screen_refuses_a_resolution_with_jiras_400() -> None:
    jira = JiraCloudHarness(workflow="simplified")
    try:
        ref, _ = created(jira)
        answer = call(
            jira,
            "POST",
            f"/issue/{ref.key}/transitions",
            json={"transition": {"id": "31"}, "fields": {"resolution": {"name": "Won't Do"}}},
        )
        assert answer.status_code == 400
        assert answer.json() == {"errorMessages": [], "errors": {"resolution": NOT_ON_SCREEN}}
        stored = jira.store.issue(ref.external_id)
        assert stored is not None and stored.status.name == "To Do"  # nothing happened
    finally:
        jira.close()


def test_transition_screen_fields_are_listed_only_with_the_expand(
    workflow_jira: JiraHarness,
) -> None:
    ref, _ = created(workflow_jira)

    plain = call(workflow_jira, "GET", f"/issue/{ref.key}/transitions").json()["transitions"]
    expanded = call(
        workflow_jira,
        "GET",
        f"/issue/{ref.key}/transitions",
        params={"expand": "transitions.fields"},
    ).json()["transitions"]

    assert all("fields" not in transition for transition in plain)
    to_done = next(t for t in expanded if t["to"]["statusCategory"]["key"] == "done")
    if workflow_jira.store.workflow == "classic":
        assert to_done["hasScreen"] is True
        assert set(to_done["fields"]) == {"resolution"}
        allowed = {value["name"] for value in to_done["fields"]["resolution"]["allowedValues"]}
        assert "Won't Do" in allowed
    else:
        assert (to_done["hasScreen"], to_done["fields"]) == (False, {})
    assert all(t["fields"] == {} for t in expanded if t["to"]["statusCategory"]["key"] != "done")


def test_transition_with_a_resolution_screen_takes_the_resolution() -> None:
    jira = JiraDataCenterHarness(workflow="classic")
    try:
        ref, _ = created(jira)
        answer = call(
            jira,
            "POST",
            f"/issue/{ref.key}/transitions",
            json={"transition": {"id": "31"}, "fields": {"resolution": {"name": "Duplicate"}}},
        )
        assert answer.status_code == 204
        stored = jira.store.issue(ref.external_id)
        assert stored is not None and (stored.status.name, stored.resolution) == (
            "Done",
            "Duplicate",
        )
    finally:
        jira.close()


def test_dropped_without_a_resolution_screen_is_done_with_the_dropped_label(
    workflow_jira: JiraHarness,
) -> None:
    connector = workflow_jira.connector()
    ref, item_id = created(workflow_jira)

    dropped = connector.update_item(ref, spec(item_id, RemoteStatus.dropped), {"status"})

    stored = workflow_jira.store.issue(ref.external_id)
    assert stored is not None and stored.status.name == "Done"
    assert dropped.status is RemoteStatus.dropped
    assert DROPPED_LABEL not in dropped.labels  # planbridge's own label, never a user label
    if workflow_jira.store.workflow == "classic":
        assert (stored.resolution, DROPPED_LABEL in stored.labels) == ("Won't Do", False)
    else:
        # The workflow's post function resolves as "Done"; the label says what it means.
        assert (stored.resolution, DROPPED_LABEL in stored.labels) == ("Done", True)
    headers, body = workflow_jira.signed_webhook_for(ref)
    (hint,) = connector.parse_webhook(headers, body)
    assert hint.item is not None and hint.item.status is RemoteStatus.dropped


def test_moving_a_dropped_issue_on_takes_the_dropped_label_off() -> None:
    jira = JiraCloudHarness(workflow="simplified")
    try:
        connector = jira.connector()
        ref, item_id = created(jira)
        connector.update_item(ref, spec(item_id, RemoteStatus.dropped), {"status"})

        done = connector.update_item(ref, spec(item_id, RemoteStatus.done), {"status"})

        stored = jira.store.issue(ref.external_id)
        assert stored is not None and DROPPED_LABEL not in stored.labels
        assert (done.status, stored.status.name) == (RemoteStatus.done, "Done")
    finally:
        jira.close()


def test_done_issue_dropped_without_a_resolution_screen_only_gets_the_label() -> None:
    jira = JiraCloudHarness(workflow="simplified")
    try:
        connector = jira.connector()
        ref, item_id = created(jira)
        connector.update_item(ref, spec(item_id, RemoteStatus.done), {"status"})
        before = jira.write_count()

        dropped = connector.update_item(ref, spec(item_id, RemoteStatus.dropped), {"status"})

        assert dropped.status is RemoteStatus.dropped
        assert jira.write_count() - before == 1  # the label edit; no transition to Done again
    finally:
        jira.close()


def test_label_write_on_a_dropped_issue_keeps_it_dropped() -> None:
    jira = JiraCloudHarness(workflow="simplified")
    try:
        connector = jira.connector()
        ref, item_id = created(jira)
        connector.update_item(ref, spec(item_id, RemoteStatus.dropped), {"status"})

        relabelled = connector.update_item(
            ref, spec(item_id, RemoteStatus.dropped, labels=("later",)), {"labels"}
        )

        assert (relabelled.status, relabelled.labels) == (RemoteStatus.dropped, ("later",))
    finally:
        jira.close()


def test_person_reopening_a_dropped_issue_reads_as_its_new_status() -> None:
    jira = JiraCloudHarness(workflow="simplified")
    try:
        connector = jira.connector()
        ref, item_id = created(jira)
        connector.update_item(ref, spec(item_id, RemoteStatus.dropped), {"status"})

        jira.person_sets_status(ref, RemoteStatus.in_progress)

        fetched = connector.fetch_item(ref)
        assert fetched is not None and fetched.status is RemoteStatus.in_progress
    finally:
        jira.close()
