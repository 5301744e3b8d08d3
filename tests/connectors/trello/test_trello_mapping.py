"""Pure mapping between Trello cards and planbridge statuses, markers and dates."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from connectors.base import RemoteStatus
from connectors.trello import TrelloConfig
from connectors.trello.config import DEFAULT_LIST_NAMES
from connectors.trello.mapping import (
    card_status,
    description_with_marker,
    due_from_trello,
    due_to_trello,
    item_id_from_description,
    list_ids_by_status,
    status_for_list,
    strip_marker,
)

ITEM = uuid.UUID("0b7e4a56-58c1-4e4a-9d4e-2f0c1f6a9b11")


@pytest.mark.parametrize(
    ("list_name", "expected"),
    [
        ("To Do", RemoteStatus.todo),
        ("doing", RemoteStatus.in_progress),
        (" BLOCKED ", RemoteStatus.blocked),
        ("Done", RemoteStatus.done),
        ("Review", RemoteStatus.in_progress),
        (None, RemoteStatus.in_progress),
    ],
)
def test_list_names_map_to_statuses_case_insensitively(
    list_name: str | None, expected: RemoteStatus
) -> None:
    assert status_for_list(list_name, DEFAULT_LIST_NAMES, {}) is expected


def test_override_wins_over_configured_list_names() -> None:
    overrides = {"review": RemoteStatus.blocked, "done": RemoteStatus.in_progress}
    assert status_for_list("Review", DEFAULT_LIST_NAMES, overrides) is RemoteStatus.blocked
    assert status_for_list("Done", DEFAULT_LIST_NAMES, overrides) is RemoteStatus.in_progress


def test_archived_card_is_dropped_unless_it_sits_in_the_done_list() -> None:
    archived = {"closed": True, "dueComplete": False}
    assert card_status(archived, "Doing", DEFAULT_LIST_NAMES, {}) is RemoteStatus.dropped
    assert card_status(archived, "Done", DEFAULT_LIST_NAMES, {}) is RemoteStatus.done


def test_ticked_due_date_means_done_only_when_configured() -> None:
    ticked = {"closed": False, "dueComplete": True}
    assert card_status(ticked, "Doing", DEFAULT_LIST_NAMES, {}) is RemoteStatus.done
    assert (
        card_status(ticked, "Doing", DEFAULT_LIST_NAMES, {}, due_complete_means_done=False)
        is RemoteStatus.in_progress
    )


def test_marker_is_the_last_line_and_survives_a_round_trip() -> None:
    description = description_with_marker("Steps for week one.", ITEM)

    assert description.splitlines()[-1] == f"planbridge:item={ITEM}"
    assert item_id_from_description(description) == ITEM
    assert strip_marker(description) == "Steps for week one."
    # Writing it again replaces the marker instead of stacking a second one.
    assert description_with_marker(description, ITEM) == description


def test_html_comment_marker_is_found_too() -> None:
    assert item_id_from_description(f"text\n<!-- planbridge:item={ITEM} -->") == ITEM
    assert item_id_from_description("no marker here") is None
    assert item_id_from_description(None) is None


def test_due_date_goes_out_at_noon_utc_and_comes_back_as_the_same_day() -> None:
    assert due_to_trello(date(2027, 3, 1)) == "2027-03-01T12:00:00Z"
    assert due_from_trello("2027-03-01T12:00:00.000Z") == date(2027, 3, 1)
    assert due_to_trello(None) is None
    assert due_from_trello(None) is None


def test_missing_lists_are_named_and_archived_lists_do_not_count() -> None:
    lists = [
        {"id": "a" * 24, "name": "To Do", "closed": False},
        {"id": "b" * 24, "name": "Done", "closed": True},
    ]
    found, missing = list_ids_by_status(lists, DEFAULT_LIST_NAMES)

    assert found == {RemoteStatus.todo: "a" * 24}
    assert missing == ["Doing", "Blocked", "Done"]


def test_config_refuses_a_dropped_list_and_a_missing_done_list() -> None:
    base = {"scope": "board", "api_key": "k", "api_token": "t"}
    with pytest.raises(ValidationError, match="dropped"):
        TrelloConfig.model_validate(
            {**base, "list_names": {"todo": "A", "done": "B", "dropped": "C"}}
        )
    with pytest.raises(ValidationError, match="done"):
        TrelloConfig.model_validate({**base, "list_names": {"todo": "A"}})
    with pytest.raises(ValidationError, match="same list"):
        TrelloConfig.model_validate({**base, "list_names": {"todo": "A", "done": "a"}})
