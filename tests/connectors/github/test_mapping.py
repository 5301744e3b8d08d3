"""Pure GitHub mappings: status, the marker, references, rate-limit waits, link headers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from connectors.base import ItemSpec, RemoteRef, RemoteStatus
from connectors.github import mapping
from connectors.github.client import next_link

RULES = mapping.StatusRules(in_progress_label="in progress", blocked_label="blocked")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def issue(
    state: str = "open", reason: str | None = None, labels: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    return {
        "number": 7,
        "title": "Ship it",
        "state": state,
        "state_reason": reason,
        "labels": [{"name": name} for name in labels],
        "assignees": [],
        "updated_at": "2027-03-01T10:00:00Z",
        **extra,
    }


@pytest.mark.parametrize(
    ("data", "rules", "status"),
    [
        (issue(), RULES, RemoteStatus.todo),
        (issue(labels=("In Progress",)), RULES, RemoteStatus.in_progress),
        (issue(labels=("in progress", "blocked")), RULES, RemoteStatus.blocked),
        (issue(assignees=[{"login": "octocat"}]), RULES, RemoteStatus.todo),
        (
            issue(assignees=[{"login": "octocat"}]),
            mapping.StatusRules(assigned_means_in_progress=True),
            RemoteStatus.in_progress,
        ),
        (issue("closed", "completed"), RULES, RemoteStatus.done),
        (issue("closed", None), RULES, RemoteStatus.done),
        (issue("closed", "not_planned"), RULES, RemoteStatus.dropped),
        (issue("closed", "duplicate"), RULES, RemoteStatus.dropped),
        (issue("closed", "completed", labels=("in progress",)), RULES, RemoteStatus.done),
        (
            issue(labels=("in progress",)),
            mapping.StatusRules(in_progress_label=None),
            RemoteStatus.todo,
        ),
    ],
)
def test_status_is_read_by_category_then_labels(
    data: dict[str, Any], rules: mapping.StatusRules, status: RemoteStatus
) -> None:
    assert mapping.status_of(data, rules) is status


def test_overrides_by_label_and_by_closed_reason_win_over_the_defaults() -> None:
    rules = mapping.StatusRules(
        overrides={"Needs Review": RemoteStatus.in_progress, "closed:duplicate": RemoteStatus.done}
    )
    assert mapping.status_of(issue(labels=("needs review",)), rules) is RemoteStatus.in_progress
    assert mapping.status_of(issue("closed", "duplicate"), rules) is RemoteStatus.done
    assert mapping.status_of(issue("closed", "not_planned"), rules) is RemoteStatus.dropped
    # A label override does not reopen a closed issue.
    assert (
        mapping.status_of(issue("closed", "completed", labels=("needs review",)), rules)
        is RemoteStatus.done
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (RemoteStatus.todo, {"state": "open", "labels": ["planbridge", "team-a"]}),
        (RemoteStatus.in_progress, {"state": "open"}),
        (RemoteStatus.blocked, {"state": "open", "labels": ["planbridge", "team-a", "blocked"]}),
        (
            RemoteStatus.done,
            {"state": "closed", "state_reason": "completed", "labels": ["planbridge", "team-a"]},
        ),
        (
            RemoteStatus.dropped,
            {"state": "closed", "state_reason": "not_planned", "labels": ["planbridge", "team-a"]},
        ),
    ],
)
def test_status_change_keeps_every_label_that_is_not_a_status(
    status: RemoteStatus, expected: dict[str, Any]
) -> None:
    assert mapping.status_change(status, ["planbridge", "team-a", "in progress"], RULES) == expected


def test_status_change_without_a_configured_label_is_refused() -> None:
    with pytest.raises(ValueError, match="in_progress_label"):
        mapping.status_change(
            RemoteStatus.in_progress, [], mapping.StatusRules(in_progress_label=None)
        )


def test_marker_round_trips_and_is_stripped_from_the_description() -> None:
    item_id = uuid.uuid4()
    body = mapping.body_with_marker("Line one.\n", item_id)
    assert body == f"Line one.\n\n<!-- planbridge:item={item_id} -->"
    assert mapping.item_id_from_body(body) == item_id
    assert mapping.description_from_body(body) == "Line one."
    assert mapping.body_with_marker("", item_id) == f"<!-- planbridge:item={item_id} -->"
    assert mapping.item_id_from_body("no marker here") is None
    assert mapping.item_id_from_body(None) is None


def test_issue_maps_to_a_remote_item_with_key_parent_and_marker() -> None:
    item_id = uuid.uuid4()
    data = issue(
        labels=("planbridge", "team-a"),
        body=mapping.body_with_marker("Why.", item_id),
        html_url="https://github.com/o/r/issues/7",
        assignees=[{"login": "hubot"}],
        milestone={
            "number": 3,
            "title": "Q1 goal",
            "html_url": "https://github.com/o/r/milestone/3",
        },
    )
    item = mapping.item_from_issue(data, "o/r", RULES)
    assert item.ref == RemoteRef("7", "o/r#7", "https://github.com/o/r/issues/7")
    assert (item.item_id, item.description, item.assignee) == (item_id, "Why.", "hubot")
    assert item.labels == ("team-a",)
    assert item.parent == RemoteRef("milestone:3", "Q1 goal", "https://github.com/o/r/milestone/3")
    assert item.updated_at == datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


def test_milestone_due_on_keeps_the_calendar_date_whatever_hour_github_stores() -> None:
    # GitHub often answers due_on at 07:00 or 08:00 UTC for a date picked in the browser.
    data = {"number": 2, "title": "Goal", "state": "open", "due_on": "2027-04-30T07:00:00Z",
            "updated_at": "2027-03-01T10:00:00Z", "description": None}  # fmt: skip
    item = mapping.item_from_milestone(data)
    assert item.due_date == date(2027, 4, 30)
    assert item.ref.external_id == "milestone:2"
    assert mapping.due_on_from_date(date(2027, 4, 30)) == "2027-04-30T00:00:00Z"


def test_issue_fields_write_only_what_is_asked() -> None:
    spec = ItemSpec(item_id=uuid.uuid4(), title="T", description="D", assignee="hubot",
                    parent=RemoteRef("milestone:4"))  # fmt: skip
    assert mapping.issue_fields(spec, {"title"}) == {"title": "T"}
    assert mapping.issue_fields(spec, {"assignee", "parent"}) == {
        "assignees": ["hubot"],
        "milestone": 4,
    }
    cleared = ItemSpec(item_id=spec.item_id, title="T")
    assert mapping.issue_fields(cleared, {"assignee", "parent"}) == {
        "assignees": [],
        "milestone": None,
    }
    assert mapping.issue_fields(spec, {"due_date", "estimate_hours"}) == {}  # issues have neither


@pytest.mark.parametrize(
    ("status", "headers", "message", "wait"),
    [
        (429, {"Retry-After": "17"}, "", 17.0),
        (403, {"retry-after": format_datetime(NOW + timedelta(seconds=30), usegmt=True)}, "", 30.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW.timestamp()) + 120)},
         "API rate limit exceeded for user ID 1.", 121.0),
        (403, {"x-ratelimit-remaining": "4000"}, "You have exceeded a secondary rate limit.", 60.0),
        (429, {}, "", 60.0),
        (403, {"x-ratelimit-remaining": "4000"}, "Resource not accessible by integration", None),
        (404, {"retry-after": "5"}, "Not Found", None),
    ],
)  # fmt: skip
def test_rate_limit_wait_follows_githubs_documented_order(
    status: int, headers: dict[str, str], message: str, wait: float | None
) -> None:
    assert mapping.rate_limit_wait(status, headers, message, NOW) == wait


def test_next_link_is_read_from_githubs_link_header() -> None:
    header = (
        '<https://api.github.com/repositories/1/issues?page=1>; rel="prev", '
        '<https://api.github.com/repositories/1/issues?page=3>; rel="next", '
        '<https://api.github.com/repositories/1/issues?page=5>; rel="last", '
        '<https://api.github.com/repositories/1/issues?page=1>; rel="first"'
    )
    assert next_link(header) == "https://api.github.com/repositories/1/issues?page=3"
    assert next_link('<https://x/issues?page=1>; rel="first"') is None
    assert next_link(None) is None


def test_change_digest_tells_a_status_change_from_a_re_listing() -> None:
    first = mapping.item_from_issue(issue(), "o/r", RULES)
    relisted = mapping.item_from_issue(issue(updated_at="2027-03-01T10:00:05Z"), "o/r", RULES)
    closed = mapping.item_from_issue(issue("closed", "completed"), "o/r", RULES)
    assert mapping.change_digest(first) == mapping.change_digest(relisted)
    assert mapping.change_digest(first) != mapping.change_digest(closed)
