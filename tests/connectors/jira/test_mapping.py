"""Pure mapping functions: status categories, overrides, transitions, owners, dates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import RemoteStatus
from connectors.jira.mapping import (
    assignee_identity,
    assignee_value,
    choose_transition,
    estimate_text,
    issue_labels,
    item_id_from_labels,
    jql_datetime,
    parse_jira_datetime,
    screen_offers_resolution,
    status_from_jira,
)

NO_OVERRIDES: dict[str, RemoteStatus] = {}


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("new", RemoteStatus.todo),
        ("indeterminate", RemoteStatus.in_progress),
        ("done", RemoteStatus.done),
    ],
)
def test_status_category_maps_to_planbridge_status(category: str, expected: RemoteStatus) -> None:
    assert status_from_jira("Whatever", category, None, NO_OVERRIDES, NO_OVERRIDES) is expected


def test_status_name_override_wins_over_category_case_insensitively() -> None:
    overrides = {"Blocked": RemoteStatus.blocked}
    assert (
        status_from_jira("BLOCKED", "indeterminate", None, overrides, NO_OVERRIDES)
        is RemoteStatus.blocked
    )


def test_resolution_override_turns_done_into_dropped() -> None:
    resolutions = {"Won't Do": RemoteStatus.dropped}
    assert status_from_jira("Done", "done", "won't do", NO_OVERRIDES, resolutions) is (
        RemoteStatus.dropped
    )
    assert status_from_jira("Done", "done", "Done", NO_OVERRIDES, resolutions) is RemoteStatus.done


def test_dropped_label_means_dropped_only_in_the_done_category() -> None:
    def read(category: str) -> RemoteStatus:
        return status_from_jira(
            "Status", category, None, NO_OVERRIDES, NO_OVERRIDES, dropped_label=True
        )

    assert read("done") is RemoteStatus.dropped
    assert read("indeterminate") is RemoteStatus.in_progress


def test_resolution_goes_only_to_a_screen_that_holds_it_with_that_value() -> None:
    allowed = [{"name": "Done"}, {"name": "Won't Do"}]
    with_screen = {"id": "31", "fields": {"resolution": {"allowedValues": allowed}}}
    assert screen_offers_resolution(with_screen, "won't do")
    assert not screen_offers_resolution(with_screen, "Duplicate")
    assert screen_offers_resolution({"fields": {"resolution": {"name": "Resolution"}}}, "Any")
    assert not screen_offers_resolution({"id": "31", "hasScreen": False, "fields": {}}, "Done")
    assert not screen_offers_resolution({"id": "31"}, "Done")  # asked without the expand


def _transition(transition_id: str, name: str, category: str) -> dict[str, object]:
    return {
        "id": transition_id,
        "name": name,
        "to": {"name": name, "statusCategory": {"key": category}},
    }


TRANSITIONS = [
    _transition("41", "Blocked", "indeterminate"),
    _transition("21", "In Progress", "indeterminate"),
    _transition("31", "Done", "done"),
    _transition("11", "To Do", "new"),
]


def test_transition_is_chosen_by_target_category_not_by_name() -> None:
    renamed = [_transition("7", "Erledigt", "done"), _transition("8", "Offen", "new")]
    chosen = choose_transition(renamed, RemoteStatus.done, NO_OVERRIDES)
    assert chosen is not None and chosen["id"] == "7"


def test_in_progress_does_not_land_on_a_status_an_override_claims_for_blocked() -> None:
    overrides = {"Blocked": RemoteStatus.blocked}
    in_progress = choose_transition(TRANSITIONS, RemoteStatus.in_progress, overrides)
    blocked = choose_transition(TRANSITIONS, RemoteStatus.blocked, overrides)
    assert in_progress is not None and in_progress["id"] == "21"
    assert blocked is not None and blocked["id"] == "41"


def test_no_transition_into_the_category_gives_none() -> None:
    assert choose_transition([_transition("11", "To Do", "new")], RemoteStatus.done, {}) is None


def test_owner_is_account_id_on_cloud_and_username_on_data_center() -> None:
    assert assignee_value("5b10ac8d", is_cloud=True) == {"accountId": "5b10ac8d"}
    assert assignee_value("alice", is_cloud=False) == {"name": "alice"}
    assert assignee_value(None, is_cloud=True) is None
    assert assignee_identity({"accountId": "5b10ac8d", "displayName": "A"}) == "5b10ac8d"
    assert assignee_identity({"name": "alice"}) == "alice"
    assert assignee_identity(None) is None


def test_jira_timestamps_parse_with_colonless_offsets() -> None:
    parsed = parse_jira_datetime("2026-11-25T10:31:18.000+0300")
    assert parsed == datetime(2026, 11, 25, 7, 31, 18, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=3)


def test_jql_dates_are_minutes_in_the_users_time_zone() -> None:
    moment = datetime(2026, 11, 25, 10, 31, 59, tzinfo=UTC)
    assert jql_datetime(moment, "Europe/Berlin") == "2026/11/25 11:31"
    assert jql_datetime(moment, "UTC") == "2026/11/25 10:31"


def test_labels_carry_both_markers_and_lose_spaces() -> None:
    item_id = uuid.uuid4()
    labels = issue_labels(item_id, ["team alpha", "q1", "q1"])
    assert labels == ["team-alpha", "q1", "planbridge", f"planbridge-{item_id}"]
    assert item_id_from_labels(labels) == item_id
    assert item_id_from_labels(["planbridge-not-a-uuid"]) is None


def test_estimate_is_written_in_minutes() -> None:
    assert estimate_text(1.5) == "90m"
    assert estimate_text(0.001) == "1m"
