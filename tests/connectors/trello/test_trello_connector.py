"""The connector against the Trello emulator over loopback: lists, changes, limits, card shapes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from connectors.base import AuthFailed, Invalid, ItemSpec, RateLimited, RemoteStatus
from connectors.trello import TrelloConnector
from tests.trackers.trello.harness import TrelloHarness


@pytest.fixture
def harness() -> Iterator[TrelloHarness]:
    started = TrelloHarness()
    yield started
    started.close()


@pytest.fixture
def connector(harness: TrelloHarness) -> Iterator[TrelloConnector]:
    built = harness.connector()
    yield built
    built.close()


def spec(title: str = "Interview five customers", **changes: object) -> ItemSpec:
    values: dict[str, object] = {"item_id": uuid.uuid4(), "title": title, "goal_title": "Learn"}
    values.update(changes)
    return ItemSpec(**values)  # type: ignore[arg-type]


def test_check_names_the_mapped_list_the_board_lacks() -> None:
    harness = TrelloHarness(list_names=["To Do", "Doing", "Done"])
    connector = harness.connector()
    try:
        with pytest.raises(Invalid, match="'Blocked'"):
            connector.check()
    finally:
        connector.close()
        harness.close()


def test_bad_key_and_bad_token_get_trellos_plain_text_401(harness: TrelloHarness) -> None:
    for overrides, answer in (
        ({"api_key": "0" * 32}, "invalid key"),
        ({"api_token": "x"}, "invalid token"),
    ):
        refused = harness.connector(**overrides)
        try:
            with pytest.raises(AuthFailed, match=answer):
                refused.check()
        finally:
            refused.close()


def test_second_card_for_a_goal_is_exactly_one_write(
    harness: TrelloHarness, connector: TrelloConnector
) -> None:
    connector.create_item(spec("First"))
    writes_before = connector.client.write_count

    created = connector.create_item(spec("Second", assignee=harness.emulator.person["id"]))

    assert connector.client.write_count - writes_before == 1
    assert created.labels == ("Learn",)
    assert created.assignee == harness.emulator.person["id"]
    card = harness.emulator.store.render_card(harness.emulator.store.cards[created.ref.external_id])
    assert {"idShort", "shortLink", "url", "shortUrl", "pos", "idBoard", "labels"} <= set(card)


def test_archive_tick_and_delete_by_a_person_are_read_as_changes(
    harness: TrelloHarness, connector: TrelloConnector
) -> None:
    archived, ticked, deleted = (connector.create_item(spec(name)) for name in "abc")
    stranger = harness.emulator.store.create_card(
        harness.emulator.person, {"idList": harness.emulator.list_id("To Do"), "name": "not ours"}
    )
    _, cursor = connector.fetch_changes(None).items, connector.fetch_changes(None).cursor

    harness.emulator.person_archives(archived.ref.external_id)
    harness.emulator.person_edits(ticked.ref.external_id, dueComplete=True)
    harness.emulator.person_deletes(deleted.ref.external_id)
    harness.emulator.person_edits(stranger["id"], name="still not ours")
    page = connector.fetch_changes(cursor)

    statuses = {item.ref.external_id: item.status for item in page.items}
    assert statuses == {
        archived.ref.external_id: RemoteStatus.dropped,
        ticked.ref.external_id: RemoteStatus.done,
    }
    assert [ref.external_id for ref in page.deleted] == [deleted.ref.external_id]


def test_actions_are_paged_back_until_the_cursor_so_none_is_skipped(
    harness: TrelloHarness,
) -> None:
    connector = harness.connector(page_size=2)
    refs = [connector.create_item(spec(f"Item {number}")).ref for number in range(5)]
    cursor = {"action_id": None}
    cursor = connector.fetch_changes(cursor).cursor
    for ref in refs:
        harness.emulator.person_moves(ref.external_id, "Doing")
    calls_before = connector.client.request_count

    page = connector.fetch_changes(cursor)

    assert sorted(item.ref.external_id for item in page.items) == sorted(
        r.external_id for r in refs
    )
    assert all(item.status is RemoteStatus.in_progress for item in page.items)
    # Three pages of actions (2 + 2 + 1) and one batch of five cards.
    assert connector.client.request_count - calls_before == 4
    connector.close()


def test_many_changed_cards_are_read_with_one_board_listing_instead_of_many_batches(
    harness: TrelloHarness, connector: TrelloConnector
) -> None:
    refs = harness.seed_items(40)
    cursor = connector.fetch_changes({"action_id": None}).cursor
    for ref in refs:
        harness.emulator.person_moves(ref.external_id, "Done")
    calls_before = connector.client.request_count

    page = connector.fetch_changes(cursor)

    assert len(page.items) == 40
    assert {item.status for item in page.items} == {RemoteStatus.done}
    # One page of actions; the board's 40 cards in one page of 100.
    assert connector.client.request_count - calls_before == 2


def test_unpaced_burst_hits_trellos_token_limit_with_its_json_body(harness: TrelloHarness) -> None:
    unpaced = harness.connector(requests_per_window=1000)
    ref = unpaced.create_item(spec()).ref
    try:
        with pytest.raises(RateLimited, match="API_TOKEN_LIMIT_EXCEEDED") as limited:
            for _ in range(120):
                unpaced.fetch_item(ref)
        assert limited.value.retry_after == 10
        assert harness.emulator.limits.refused_count == 1
    finally:
        unpaced.close()


def test_paced_connector_never_trips_the_limit(
    harness: TrelloHarness, connector: TrelloConnector
) -> None:
    ref = connector.create_item(spec()).ref
    started = harness.emulator.clock.timestamp()

    for _ in range(250):
        connector.fetch_item(ref)

    assert harness.emulator.limits.refused_count == 0
    # 250 requests at 100 per 10 s: the pacer waited (on the emulator clock) at least two windows.
    assert harness.emulator.clock.timestamp() - started >= 20


def test_move_actions_have_trellos_data_and_display_shapes(
    harness: TrelloHarness, connector: TrelloConnector
) -> None:
    ref = connector.create_item(spec()).ref
    harness.person_sets_status(ref, RemoteStatus.blocked)

    action = harness.emulator.latest_action_for(ref.external_id)

    assert action["type"] == "updateCard"
    assert action["data"]["listBefore"]["name"] == "To Do"
    assert action["data"]["listAfter"]["name"] == "Blocked"
    assert action["data"]["old"] == {"idList": harness.emulator.list_id("To Do")}
    assert action["display"]["translationKey"] == "action_move_card_from_list_to_list"
    assert action["memberCreator"]["username"] == "ada"
    fetched = connector.fetch_item(ref)
    assert fetched is not None and fetched.status is RemoteStatus.blocked


def test_many_tokens_of_one_key_share_the_key_limit(harness: TrelloHarness) -> None:
    emulator = harness.emulator
    tokens = [emulator.store.add_token(emulator.api_key, emulator.bot["id"]) for _ in range(4)]
    answers = []
    with httpx.Client(base_url=emulator.url) as client:
        for number in range(320):
            params = {"key": emulator.api_key, "token": tokens[number % 4]}
            answers.append(client.get(f"/1/boards/{emulator.board['id']}", params=params))

    assert [answer.status_code for answer in answers[:300]] == [200] * 300
    refused = answers[300]
    assert refused.status_code == 429
    assert refused.json() == {"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
    emulator.clock.advance(10)
    with httpx.Client(base_url=emulator.url) as client:
        params = {"key": emulator.api_key, "token": tokens[0]}
        assert client.get(f"/1/boards/{emulator.board['id']}", params=params).status_code == 200


def test_connections_with_one_token_name_one_request_budget(harness: TrelloHarness) -> None:
    first, other_board, other_token = (
        harness.connector(),
        harness.connector(scope="0" * 24),
        harness.connector(api_token="f" * 64),
    )
    try:
        budget, windows = first.request_budget()
        assert other_board.request_budget()[0] == budget  # Trello counts per token, not per board
        assert other_token.request_budget()[0] != budget
        assert harness.emulator.token not in budget
        assert [(window.requests, window.seconds) for window in windows] == [(100, 10.0)]
    finally:
        for connector in (first, other_board, other_token):
            connector.close()
