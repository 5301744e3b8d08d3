"""The GitHub connector against the emulator: request costs, limits, goals, labels, polls, hooks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.base import AuthFailed, Invalid, ItemSpec, RateLimited, RemoteStatus
from connectors.github import GitHubConfig, GitHubConnector
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.server import LoopbackServer


def spec(title: str = "Draft the hiring plan", **changes: object) -> ItemSpec:
    return ItemSpec(item_id=uuid.uuid4(), title=title, description="Who, when, budget.", **changes)  # type: ignore[arg-type]


def requests_since(github: GitHubHarness, start: int) -> list[tuple[str, str, int]]:
    return github.emulator.request_log[start:]


def test_first_create_is_exactly_one_write_and_no_read(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    start = len(github.emulator.request_log)
    created = connector.create_item(spec(labels=("team-a",), assignee="hubot"))

    assert [(method, status) for method, _, status in requests_since(github, start)] == [
        ("POST", 201)
    ]
    issue = github.emulator.issue(int(created.ref.external_id))
    assert issue.labels == ["planbridge", "team-a"]
    assert issue.assignees == ["hubot"]
    assert created.assignee == "hubot"
    assert created.ref.key == f"{github.scope}#{issue.number}"


def test_goal_is_a_milestone_and_items_go_under_it(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    goal_spec = spec("Hire two engineers", kind="goal", due_date=date(2027, 6, 30))
    goal = connector.create_item(goal_spec)
    item = connector.create_item(spec(parent=goal.ref))

    assert goal.ref.external_id.startswith("milestone:")
    assert goal.due_date == date(2027, 6, 30)
    assert item.parent is not None and item.parent.external_id == goal.ref.external_id
    found = connector.find_by_marker(goal_spec.item_id, kind="goal")
    assert found is not None and found.ref == goal.ref
    moved = connector.update_item(
        goal.ref, ItemSpec(**{**goal_spec.__dict__, "due_date": date(2027, 7, 31)}), {"due_date"}
    )
    assert moved.due_date == date(2027, 7, 31)
    assert moved.title == "Hire two engineers"


def test_label_update_keeps_the_labels_people_added(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    created = connector.create_item(spec(labels=("team-a",)))
    number = int(created.ref.external_id)
    github.emulator.person_sets_labels(number, ["planbridge", "team-a", "customer", "in progress"])

    updated = connector.update_item(created.ref, spec(labels=("team-b",)), {"labels"})

    assert github.emulator.issue(number).labels == [
        "planbridge",
        "team-a",
        "customer",
        "in progress",
        "team-b",
    ]
    assert updated.status is RemoteStatus.in_progress


def test_unknown_assignee_is_refused_as_invalid_naming_the_field(
    connector: GitHubConnector,
) -> None:
    with pytest.raises(Invalid, match="assignees"):
        connector.create_item(spec(assignee="nobody-by-that-name"))


def test_deleted_issue_fetches_as_gone(github: GitHubHarness, connector: GitHubConnector) -> None:
    created = connector.create_item(spec())
    github.emulator.person_deletes(int(created.ref.external_id))
    assert connector.fetch_item(created.ref) is None


def test_issues_disabled_fails_the_check_as_invalid(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    github.emulator.repository.has_issues = False
    with pytest.raises(Invalid, match="disabled"):
        connector.check()


def test_unknown_repository_fails_the_check(github: GitHubHarness) -> None:
    other = github.connector(scope="planbridge-test/elsewhere")
    try:
        with pytest.raises(Exception, match="no such object"):
            other.check()
    finally:
        other.close()


def test_config_is_validated_before_any_request() -> None:
    with pytest.raises(ValidationError, match="scope"):
        GitHubConfig.model_validate({"token": "t", "scope": "not a repo"})
    with pytest.raises(ValidationError, match="base_url"):
        GitHubConfig.model_validate({"token": "t", "scope": "o/r", "base_url": "ftp://x"})
    config = GitHubConfig.model_validate({"token": "ghp_secret_value", "scope": "o/r"})
    assert "ghp_secret_value" not in repr(config)


def test_enterprise_server_base_url_with_api_prefix_works() -> None:
    enterprise = GitHubHarness(api_prefix="/api/v3")
    try:
        connector = enterprise.connector()
        connector.check()
        created = connector.create_item(spec())
        assert connector.fetch_item(created.ref) is not None
        assert all(path.startswith("/api/v3/") for _, path, _ in enterprise.emulator.request_log)
        connector.close()
    finally:
        enterprise.close()


# -- rate limits ------------------------------------------------------------------------------


def test_secondary_limit_on_creates_is_rate_limited_until_the_window_passes(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    for index in range(80):
        connector.create_item(spec(f"Item {index}"))

    with pytest.raises(RateLimited) as limited:
        connector.create_item(spec("One too many"))

    assert 1 <= limited.value.retry_after <= 60
    github.advance_clock(limited.value.retry_after)
    assert connector.create_item(spec("After the wait")).title == "After the wait"
    assert github.object_count() == 81


def test_primary_limit_spent_waits_until_the_reset(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    github.emulator.primary_limit = 3
    connector.check()
    connector.check()
    connector.check()

    with pytest.raises(RateLimited) as limited:
        connector.check()

    # The window started with the first request: about an hour (plus the one-second margin) remains.
    assert 3500 <= limited.value.retry_after <= 3602
    assert connector.rate_limit.remaining == 0
    assert connector.rate_limit.limit == 3


def test_primary_limit_answered_with_429_uses_the_reset_header(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    github.inject_fault("rate_limit", primary=True, retry_after=300, status=429)
    with pytest.raises(RateLimited) as limited:
        connector.check()
    assert limited.value.retry_after == pytest.approx(301, abs=2)


def test_rate_limit_headers_are_tracked(connector: GitHubConnector) -> None:
    connector.check()
    state = connector.rate_limit
    assert (state.limit, state.remaining) == (5000, 4999)
    assert state.reset_at is not None


def test_a_403_that_is_no_rate_limit_is_an_auth_failure(github: GitHubHarness) -> None:
    bad = github.connector_with_bad_credentials()
    try:
        with pytest.raises(AuthFailed, match="Bad credentials"):
            bad.create_item(spec())
    finally:
        bad.close()


# -- polling ----------------------------------------------------------------------------------


def test_unchanged_repository_costs_one_304(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    for index in range(3):
        connector.create_item(spec(f"Item {index}"))
    first = connector.fetch_changes(None)
    start = len(github.emulator.request_log)

    unchanged = connector.fetch_changes(first.cursor)

    assert len(first.items) == 3
    assert unchanged.not_modified and unchanged.items == []
    assert [status for _, _, status in requests_since(github, start)] == [304]
    assert connector.rate_limit.remaining == 5000 - 4  # the 304 did not count


def test_pull_requests_are_skipped_even_with_the_planbridge_label(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    created = connector.create_item(spec())
    page = connector.fetch_changes(None)
    assert [item.ref.external_id for item in page.items] == [created.ref.external_id]


def test_ten_changes_among_many_are_found_in_one_request(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    refs = github.seed_items(1000)
    cursor = None
    while True:
        page = connector.fetch_changes(cursor)
        cursor = page.cursor
        if not page.has_more:
            break
    connector.fetch_changes(cursor)  # settles the etag for the new window
    cursor = connector.fetch_changes(cursor).cursor
    github.advance_clock(60)
    for ref in refs[::100]:
        github.emulator.person_closes(int(ref.external_id))
    start = len(github.emulator.request_log)

    page = connector.fetch_changes(cursor)

    assert len(requests_since(github, start)) == 1
    assert sorted(item.ref.external_id for item in page.items) == sorted(
        ref.external_id for ref in refs[::100]
    )
    assert all(item.status is RemoteStatus.done for item in page.items)


def test_an_issue_changed_mid_pass_does_not_hide_its_neighbours(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    refs = github.seed_items(250)
    first = connector.fetch_changes(None)
    # A person closes an issue already read; on offset pages every later issue would shift by one.
    github.emulator.person_closes(int(refs[0].external_id))
    seen = {item.ref.external_id for item in first.items}
    cursor, more = first.cursor, first.has_more
    while more:
        page = connector.fetch_changes(cursor)
        seen |= {item.ref.external_id for item in page.items}
        cursor, more = page.cursor, page.has_more
    assert {ref.external_id for ref in refs} <= seen


# -- webhooks to a receiver -------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[LoopbackServer, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    async def record(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=202)

    with LoopbackServer(Starlette(routes=[Route("/hook", record, methods=["POST"])])) as server:
        yield server, received


def test_registered_webhook_receives_signed_deliveries_for_every_change(
    github: GitHubHarness,
    receiver: tuple[LoopbackServer, list[tuple[dict[str, str], bytes]]],
) -> None:
    server, received = receiver
    connector = github.connector(webhook_secret="a-fresh-secret")
    hook_id = connector.register_webhook(f"{server.url}/hook")
    created = connector.create_item(spec())
    github.emulator.person_closes(int(created.ref.external_id), "not_planned")
    github.emulator.webhooks.flush()

    assert hook_id.isdigit()
    assert [connector.parse_webhook(h, b)[0].event for h, b in received] == [
        "issues.opened",
        "issues.closed",
    ]
    assert all(connector.verify_webhook(h, b) for h, b in received)
    closed = connector.parse_webhook(*received[-1])[0].item
    assert closed is not None and closed.status is RemoteStatus.dropped
    connector.close()


def test_pygithubs_own_pagination_follows_the_emulators_link_header(
    github: GitHubHarness, connector: GitHubConnector
) -> None:
    seeded = github.seed_items(230)
    listed = connector.client.repo.get_issues(state="all", labels=["planbridge"])
    numbers = [issue.number for issue in listed]
    # PyGithub lists pull requests too: the labelled one (number 2) comes along.
    assert sorted(numbers) == sorted([2, *(int(ref.external_id) for ref in seeded)])
    pages = [path for method, path, _ in github.emulator.request_log if "/issues?" in path]
    assert len(pages) == 3 and "page=3" in pages[-1]
