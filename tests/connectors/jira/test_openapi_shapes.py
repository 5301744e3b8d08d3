"""The emulator's answers against Atlassian's published OpenAPI description of Jira Cloud.

The schemas are an excerpt of the platform REST API description (tests/trackers/jira/openapi/).
Every route planbridge and the ``jira`` library call is exercised over loopback HTTP and its answer
validated, including the issue fields inside (status, type, users, project, resolution) and the
error bodies (ErrorCollection).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft7Validator

from tests.trackers.jira.harness import JiraCloudHarness, JiraDataCenterHarness

SPEC_FILE = Path(__file__).parents[2] / "trackers" / "jira" / "openapi" / "platform-v3-excerpt.json"


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema's ``type: [..., "null"]``."""
    if isinstance(node, dict):
        node = {key: _nullable(value) for key, value in node.items()}
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(value) for value in node]
    return node


SPEC: dict[str, Any] = _nullable(json.loads(SPEC_FILE.read_text()))


def problems(body: Any, schema: dict[str, Any]) -> list[str]:
    """Where ``body`` breaks ``schema`` (refs resolve inside the excerpt)."""
    validator = Draft7Validator({"components": SPEC["components"], **schema})
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(body)
    ]


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def route(path: str, method: str, status: str) -> dict[str, Any]:
    answer = SPEC["paths"][f"/rest/api/3{path}"][method]["responses"][status]
    schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


@pytest.fixture
def cloud_classic() -> Iterator[JiraCloudHarness]:
    """Cloud with the classic workflow, so transitions carry a screen's fields too."""
    harness = JiraCloudHarness(workflow="classic")
    try:
        yield harness
    finally:
        harness.close()


def call(jira: JiraCloudHarness, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method,
        f"{jira.server.url}/rest/api/3{path}",
        auth=jira.emulator.credentials,  # type: ignore[arg-type]
        timeout=5,
        **kwargs,
    )


def check_issue(issue: dict[str, Any]) -> list[str]:
    found = problems(issue, component("IssueBean"))
    fields = issue.get("fields") or {}
    by_field = {
        "status": "StatusDetails",
        "issuetype": "IssueTypeDetails",
        "assignee": "UserDetails",
        "reporter": "UserDetails",
        "project": "ProjectDetails",
        "resolution": "Resolution",
    }
    for name, schema in by_field.items():
        if fields.get(name) is not None:
            found += [f"fields.{name}: {p}" for p in problems(fields[name], component(schema))]
    return found


def test_read_routes_answer_as_the_published_schemas(cloud_classic: JiraCloudHarness) -> None:
    jira = cloud_classic
    for path, schema in [
        ("/serverInfo", route("/serverInfo", "get", "200")),
        ("/myself", route("/myself", "get", "200")),
        ("/project/PB", route("/project/{projectIdOrKey}", "get", "200")),
        ("/field", route("/field", "get", "200")),
    ]:
        answer = call(jira, "GET", path)
        assert answer.status_code == 200, path
        assert problems(answer.json(), schema) == [], path


def test_issue_routes_answer_as_the_published_schemas(cloud_classic: JiraCloudHarness) -> None:
    jira = cloud_classic
    owner = jira.store.users[1]
    created = call(
        jira,
        "POST",
        "/issue",
        json={
            "fields": {
                "project": {"key": "PB"},
                "issuetype": {"name": "Task"},
                "summary": "Check the shapes",
                "labels": ["planbridge"],
                "assignee": {"accountId": owner.account_id},
            }
        },
    )
    assert created.status_code == 201
    assert problems(created.json(), route("/issue", "post", "201")) == []
    key = created.json()["key"]

    for expand in ({}, {"expand": "transitions.fields"}):
        transitions = call(jira, "GET", f"/issue/{key}/transitions", params=expand)
        schema = route("/issue/{issueIdOrKey}/transitions", "get", "200")
        assert problems(transitions.json(), schema) == []
    moved = call(
        jira,
        "POST",
        f"/issue/{key}/transitions",
        json={"transition": {"id": "31"}, "fields": {"resolution": {"name": "Won't Do"}}},
    )
    assert moved.status_code == 204

    issue = call(jira, "GET", f"/issue/{key}")
    assert check_issue(issue.json()) == []
    assert issue.json()["fields"]["resolution"]["name"] == "Won't Do"

    comment = call(jira, "POST", f"/issue/{key}/comment", json={"body": _document("Looks right")})
    assert comment.status_code == 201
    assert problems(comment.json(), route("/issue/{issueIdOrKey}/comment", "post", "201")) == []


def test_search_answers_as_the_published_schema(cloud_classic: JiraCloudHarness) -> None:
    jira = cloud_classic
    for _ in range(3):
        call(
            jira,
            "POST",
            "/issue",
            json={
                "fields": {"project": {"key": "PB"}, "issuetype": {"name": "Task"}, "summary": "x"}
            },
        )
    jira.advance_clock(jira.store.index_lag_seconds + 1)

    first = call(
        jira,
        "GET",
        "/search/jql",
        params={"jql": "project = PB", "maxResults": 2, "fields": "*all"},
    )
    last = call(
        jira,
        "GET",
        "/search/jql",
        params={"jql": "project = PB", "nextPageToken": first.json()["nextPageToken"]},
    )

    schema = route("/search/jql", "get", "200")
    for page in (first.json(), last.json()):
        assert problems(page, schema) == []
        for issue in page["issues"]:
            assert check_issue(issue) == []
    assert "nextPageToken" not in last.json()  # "not included in the response for the last page"


def test_refusals_are_error_collections(cloud_classic: JiraCloudHarness) -> None:
    jira = cloud_classic
    refusals = [
        call(jira, "GET", "/search/jql", params={"jql": "nosuchfield = 1"}),
        call(jira, "POST", "/issue", json={"fields": {"project": {"key": "PB"}}}),
        call(jira, "GET", "/issue/PB-999"),
        call(jira, "POST", "/issue/PB-999/transitions", json={"transition": {"id": "31"}}),
    ]
    for answer in refusals:
        assert answer.status_code in (400, 404)
        assert problems(answer.json(), component("ErrorCollection")) == []


def _document(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


def test_the_schemas_refuse_a_wrong_shape() -> None:
    """The check bites: a mistyped field, an unknown property, a screen field lacking its parts."""
    search = route("/search/jql", "get", "200")
    assert problems({"isLast": "no", "issues": [{"id": "1", "bogus": 2}]}, search) == [
        "isLast: 'no' is not of type 'boolean'",
        "issues/0: Additional properties are not allowed ('bogus' was unexpected)",
    ]
    transitions = route("/issue/{issueIdOrKey}/transitions", "get", "200")
    assert problems({"transitions": [{"fields": {"resolution": {"name": "Done"}}}]}, transitions)


def test_data_center_answers_fit_the_same_schemas() -> None:
    """Data Center publishes no OpenAPI description here; its v2 answers share these shapes
    (classic search: SearchResults), with usernames where Cloud has account ids."""
    jira = JiraDataCenterHarness()
    try:
        auth = {"Authorization": f"Bearer {jira.emulator.credentials}"}
        base = f"{jira.server.url}/rest/api/2"
        created = requests.post(
            f"{base}/issue",
            json={
                "fields": {
                    "project": {"key": "PB"},
                    "issuetype": {"name": "Task"},
                    "summary": "Check the shapes",
                    "assignee": {"name": "alice"},
                }
            },
            headers=auth,
            timeout=5,
        )
        assert problems(created.json(), route("/issue", "post", "201")) == []
        found = requests.get(
            f"{base}/search", params={"jql": "project = PB"}, headers=auth, timeout=5
        ).json()
        assert problems(found, route("/search", "get", "200")) == []
        assert [check_issue(issue) for issue in found["issues"]] == [[]]
        myself = requests.get(f"{base}/myself", headers=auth, timeout=5).json()
        assert problems(myself, route("/myself", "get", "200")) == []
    finally:
        jira.close()
