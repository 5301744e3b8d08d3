"""GitHub's limits, archived repositories, transfers and deletions, through PyGithub (issue #14)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from connectors.base import (
    AuthFailed,
    Invalid,
    ItemSpec,
    ObjectMoved,
    RateLimited,
    RemoteRef,
    TargetReadOnly,
)
from connectors.github import GitHubConnector
from tests.trackers.github.harness import TOKEN, GitHubHarness


def spec(title: str = "Draft the hiring plan") -> ItemSpec:
    return ItemSpec(item_id=uuid.uuid4(), title=title, description="Who, when, budget.")


def statuses(github: GitHubHarness, start: int) -> list[int]:
    return [status for _, _, status in github.emulator.request_log[start:]]


def test_patches_count_as_content_creating_requests_80_a_minute(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    item = spec()
    ref = connector.create_item(item).ref
    start = len(github.emulator.request_log)
    with pytest.raises(RateLimited) as limited:
        for index in range(200):
            connector.update_item(ref, ItemSpec(item.item_id, f"Title {index}"), {"title"})

    # One create and 79 PATCHes fill the minute's 80; the next PATCH is refused.
    assert statuses(github, start) == [200] * 79 + [403]
    assert 0 < limited.value.retry_after <= 60


def test_gets_to_one_endpoint_cost_a_point_each_900_a_minute(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    ref = connector.create_item(spec()).ref
    start = len(github.emulator.request_log)
    with pytest.raises(RateLimited) as limited:
        for _ in range(950):
            connector.fetch_item(ref)
    other_endpoint = connector.fetch_item(RemoteRef("milestone:1"))

    assert statuses(github, start) == [200] * 900 + [429, 404]
    assert 0 < limited.value.retry_after <= 60
    assert other_endpoint is None  # the points are per endpoint


def test_asking_for_the_rate_limit_costs_nothing(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    connector.create_item(spec())
    used_before = github.emulator.primary_windows[TOKEN][1]

    overview = connector.client.github.get_rate_limit()
    connector.client.github.get_rate_limit()

    assert github.emulator.primary_windows[TOKEN][1] == used_before
    assert overview.resources.core.used == used_before


def test_an_archived_repository_refuses_writes_and_fails_the_check(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    ref = connector.create_item(spec()).ref
    github.emulator.person_archives()

    with pytest.raises(TargetReadOnly) as refused:
        connector.update_item(ref, spec("Renamed"), {"title"})
    with pytest.raises(Invalid, match="archived"):
        connector.check()

    assert isinstance(refused.value, AuthFailed)  # the engine pauses the connection
    assert "archived" in str(refused.value)
    assert connector.fetch_item(ref) is not None  # reads still work
    assert github.emulator.request_log[-3][2] == 403


def test_a_transferred_issue_is_reported_moved_to_its_new_repository(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    ref = connector.create_item(spec()).ref
    other = github.emulator.add_repository("planbridge-test", "elsewhere")
    github.emulator.create_issue({"title": "Already there"}, "octocat", other)

    moved = github.emulator.person_transfers(int(ref.external_id), other)
    with pytest.raises(ObjectMoved) as reported:
        connector.fetch_item(ref)
    with pytest.raises(ObjectMoved):
        connector.update_item(ref, spec("Renamed"), {"title"})

    assert reported.value.scope == "planbridge-test/elsewhere"
    assert reported.value.ref.external_id == str(moved.number) == "2"
    assert reported.value.ref.key == "planbridge-test/elsewhere#2"
    assert [status for _, _, status in github.emulator.request_log[-4:]] == [301, 200, 301, 200]


def test_a_deleted_issue_answers_410_and_fetches_as_gone(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    ref = connector.create_item(spec()).ref
    github.emulator.person_deletes(int(ref.external_id))

    assert connector.fetch_item(ref) is None
    assert github.emulator.request_log[-1][2] == 410


def test_a_secondary_limit_answer_carries_retry_after_and_the_rate_headers(
    github: GitHubHarness,
) -> None:
    issue = github.emulator.create_issue({"title": "Edited a lot"}, "octocat")
    url = f"/repos/{github.scope}/issues/{issue.number}"
    with httpx.Client(
        base_url=github.base_url, headers={"Authorization": f"token {TOKEN}"}, timeout=5
    ) as api:
        answers = [api.patch(url, json={"title": f"Title {n}"}) for n in range(81)]

    refused = answers[-1]
    assert [a.status_code for a in answers[:80]] == [200] * 80
    assert refused.status_code == 403
    assert "secondary rate limit" in refused.json()["message"]
    assert int(refused.headers["retry-after"]) > 0
    for name in ("limit", "remaining", "used", "reset", "resource"):
        assert f"x-ratelimit-{name}" in refused.headers


def test_content_creating_requests_are_limited_to_500_an_hour(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    """80 a minute for six minutes and 20 more spend the hour's 500; the next waits for the
    hour's first request to leave the window, not for a minute."""
    for minute in range(7):
        for index in range(80 if minute < 6 else 20):
            connector.create_item(spec(f"Item {minute}.{index}"))
        github.advance_clock(60)

    with pytest.raises(RateLimited) as limited:
        connector.create_item(spec("One too many this hour"))

    # The hour began with the first create; seven emulated minutes and the real seconds of
    # the 500 requests have passed since.
    assert 60 < limited.value.retry_after <= 3600 - 7 * 60
    assert github.object_count() == 500
    github.advance_clock(limited.value.retry_after)
    assert connector.create_item(spec("In the next hour")).title == "In the next hour"
