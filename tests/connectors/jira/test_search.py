"""Search as Jira answers it: Cloud's lagging index and reconcileIssues, and the JQL users write.

Queries go through the ``jira`` library unchanged (``enhanced_search_issues`` on Cloud,
``search_issues`` on Data Center); refusals are read raw, to compare Jira's 400 body exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from jira import JIRA

from connectors.base import RemoteRef
from tests.trackers.jira.harness import JiraCloudHarness, JiraHarness
from tests.trackers.jira.store import STATUSES, Issue

LAG = 10.0


def library(jira: JiraHarness) -> JIRA:
    if jira.cloud:
        email, token = tuple(jira.emulator.credentials)
        return JIRA(
            server=jira.server.url,
            basic_auth=(str(email), str(token)),
            options={"rest_api_version": "3"},
            max_retries=0,
        )
    return JIRA(server=jira.server.url, token_auth=str(jira.emulator.credentials), max_retries=0)


def keys(jira: JiraHarness, jql: str, **options: Any) -> list[str]:
    client = library(jira)
    try:
        if jira.cloud:
            found = client.enhanced_search_issues(jql, fields="summary", **options)
        else:
            found = client.search_issues(jql, fields="summary", **options)
        return sorted(issue.key for issue in found)
    finally:
        client.close()  # type: ignore[no-untyped-call]


def refusal(jira: JiraHarness, jql: str) -> requests.Response:
    path = "search/jql" if jira.cloud else "search"
    version = "3" if jira.cloud else "2"
    options: dict[str, Any] = (
        {"auth": jira.emulator.credentials}
        if jira.cloud
        else {"headers": {"Authorization": f"Bearer {jira.emulator.credentials}"}}
    )
    return requests.get(
        f"{jira.server.url}/rest/api/{version}/{path}", params={"jql": jql}, timeout=5, **options
    )


def make(
    jira: JiraHarness,
    summary: str,
    *,
    status: str = "To Do",
    resolution: str | None = None,
    labels: tuple[str, ...] = (),
    assignee: bool = False,
    age_days: float = 0,
) -> Issue:
    status_value = next(candidate for candidate in STATUSES if candidate.name == status)

    def build(issue_id: int, key: str, now: Any) -> Issue:
        then = now - timedelta(days=age_days)
        return Issue(
            issue_id,
            key,
            jira.store.project_key,
            "Task",
            summary,
            None,
            status_value,
            then,
            then,
            labels=labels,
            assignee=jira.store.users[1] if assignee else None,
            resolution=resolution,
        )

    return jira.store.create(build)


@pytest.fixture
def issues(jira: JiraHarness) -> Iterator[dict[str, str]]:
    """Three issues, indexed: planned (old, labelled, assigned), dropped, and in progress."""
    planned = make(jira, "Write the launch plan", labels=("launch",), assignee=True, age_days=3)
    dropped = make(jira, "Review the budget", status="Done", resolution="Won't Do")
    started = make(jira, "Launch party", status="In Progress", labels=("fun",))
    jira.advance_clock(jira.store.index_lag_seconds + 1)
    yield {"planned": planned.key, "dropped": dropped.key, "started": started.key}


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("assignee IS EMPTY", {"dropped", "started"}),
        ("assignee IS NOT EMPTY", {"planned"}),
        ("assignee = currentUser()", set()),
        ("resolution IS EMPTY", {"planned", "started"}),
        ("resolution = Unresolved", {"planned", "started"}),
        ('resolution = "Won\'t Do"', {"dropped"}),
        ("statusCategory = Done", {"dropped"}),
        ("statusCategory != Done", {"planned", "started"}),
        ('statusCategory in ("To Do", indeterminate)', {"planned", "started"}),
        ('summary ~ "launch"', {"planned", "started"}),
        ('summary ~ "bud*"', {"dropped"}),
        ('summary !~ "launch"', {"dropped"}),
        ("created >= -1d", {"dropped", "started"}),
        ('created > "-2d 12h"', {"dropped", "started"}),
        ("created < startOfDay()", {"planned"}),
        ('updated >= startOfDay("-7")', {"planned", "dropped", "started"}),
        ("updated <= endOfDay()", {"planned", "dropped", "started"}),
        ("labels IS EMPTY", {"dropped"}),
        ("(labels = launch OR status = Done)", {"planned", "dropped"}),
        ("NOT labels = fun AND statusCategory != done", {"planned"}),
    ],
)
def test_valid_jql_is_answered_as_jira_does(
    jira: JiraHarness, issues: dict[str, str], clause: str, expected: set[str]
) -> None:
    found = keys(jira, f"project = PB AND {clause} ORDER BY key")
    assert found == sorted(issues[name] for name in expected)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        (
            "project = PB AND xyz = 1",
            "Field 'xyz' does not exist or you do not have permission to view it.",
        ),
        (
            'project = PB AND created >= "yesterday"',
            "Date value 'yesterday' for field 'created' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'.",
        ),
        (
            "project = PB AND status = Nope",
            "The value 'Nope' does not exist for the field 'status'.",
        ),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        (
            "project = PB AND summary = plan",
            "The operator '=' is not supported by the 'summary' field.",
        ),
        ("project = PB AND updated >= nosuch()", "Unable to find JQL function 'nosuch()'."),
    ],
)
def test_invalid_jql_is_refused_with_jiras_400_body(
    jira: JiraHarness, jql: str, message: str
) -> None:
    answer = refusal(jira, jql)
    assert answer.status_code == 400
    assert answer.json() == {"errorMessages": [message], "errors": {}}


def test_a_key_list_naming_issues_that_do_not_exist_is_refused_naming_each(
    jira: JiraHarness,
) -> None:
    """Checked against the issues as they are, not the index: a deleted issue is refused at once."""
    kept, deleted = make(jira, "Kept"), make(jira, "Deleted")
    jira.store.delete(deleted)

    answer = refusal(jira, f"key in ({kept.key}, {deleted.key}, PB-999, {kept.id})")
    malformed = refusal(jira, "key = nonsense")

    assert answer.status_code == 400
    assert answer.json() == {
        "errorMessages": [
            f"An issue with key '{deleted.key}' does not exist for field 'key'.",
            "An issue with key 'PB-999' does not exist for field 'key'.",
        ],
        "errors": {},
    }
    assert malformed.status_code == 400
    assert malformed.json()["errorMessages"] == [
        "The issue key 'nonsense' for field 'key' is invalid."
    ]


def test_cloud_index_lag_is_configurable() -> None:
    jira = JiraCloudHarness(index_lag_seconds=LAG)
    try:
        issue = make(jira, "Slow to index")
        jira.advance_clock(LAG - 1)
        assert keys(jira, "project = PB") == []
        jira.advance_clock(2)
        assert keys(jira, "project = PB") == [issue.key]
    finally:
        jira.close()


def test_cloud_default_index_shows_changes_within_seconds(cloud: JiraHarness) -> None:
    issue = make(cloud, "Quick to index")
    assert keys(cloud, "project = PB") == []
    cloud.advance_clock(5)
    assert keys(cloud, "project = PB") == [issue.key]


def test_reconcile_issues_shows_the_named_issues_as_they_are_now() -> None:
    jira = JiraCloudHarness(index_lag_seconds=LAG)
    try:
        renamed = make(jira, "Old name")
        other = make(jira, "Other issue")
        jira.advance_clock(LAG + 1)
        jira.person_edits(_ref(renamed), summary="New name")
        jira.person_edits(_ref(other), summary="New name too")

        assert keys(jira, 'project = PB AND summary ~ "new"') == []
        # Only the named issue is consistent; the other still shows as the index has it.
        named = keys(jira, 'project = PB AND summary ~ "new"', reconcileIssues=[renamed.id])
        assert named == [renamed.key]
        posted = keys(
            jira, 'project = PB AND summary ~ "old"', reconcileIssues=[renamed.id], use_post=True
        )
        assert posted == []
    finally:
        jira.close()


def test_reconcile_issues_shows_a_deleted_issue_gone_at_once() -> None:
    jira = JiraCloudHarness(index_lag_seconds=LAG)
    try:
        issue = make(jira, "Soon deleted")
        jira.advance_clock(LAG + 1)
        jira.store.delete(issue)
        assert keys(jira, "project = PB") == [issue.key]
        assert keys(jira, "project = PB", reconcileIssues=[issue.id]) == []
    finally:
        jira.close()


def test_more_than_fifty_reconcile_issues_are_refused(cloud: JiraHarness) -> None:
    answer = requests.get(
        f"{cloud.server.url}/rest/api/3/search/jql",
        params={"jql": "project = PB", "reconcileIssues": [str(10000 + n) for n in range(51)]},
        auth=cloud.emulator.credentials,  # type: ignore[arg-type]
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["errors"] == {}


def _ref(issue: Issue) -> RemoteRef:
    return RemoteRef(str(issue.id), issue.key)
