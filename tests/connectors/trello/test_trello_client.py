"""The httpx client and connector request shapes, with respx standing in for api.trello.com."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
import respx

from connectors.base import (
    AuthFailed,
    Invalid,
    ItemSpec,
    NotFound,
    RateLimited,
    RemoteRef,
    RemoteStatus,
    Transient,
)
from connectors.trello import TrelloConfig, TrelloConnector
from connectors.trello.client import TrelloClient
from connectors.trello.pacing import RequestPacer

BOARD = "5f9b2d9fee89f60f0708ddbf"
TODO, DOING, DONE = "a" * 24, "b" * 24, "c" * 24
CARD_ID = "6703b79f49c66f0edb97ede3"
LISTS = [
    {"id": TODO, "name": "To Do", "closed": False},
    {"id": DOING, "name": "Doing", "closed": False},
    {"id": DONE, "name": "Done", "closed": False},
]


def card(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": CARD_ID,
        "idShort": 3,
        "shortLink": "3KbfMylo",
        "shortUrl": "https://trello.com/c/3KbfMylo",
        "name": "Write the guide",
        "desc": f"Steps.\n\nplanbridge:item={uuid.UUID(int=7)}",
        "due": None,
        "dueComplete": False,
        "closed": False,
        "idList": TODO,
        "idMembers": [],
        "labels": [],
        "dateLastActivity": "2027-01-05T10:28:13.019Z",
    }
    values.update(changes)
    return values


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url="https://api.trello.com/1", assert_all_called=False) as router:
        # Reading a card maps its list id to a name: the board's lists are read once.
        router.get(f"/boards/{BOARD}/lists").respond(json=LISTS)
        yield router


@pytest.fixture
def connector() -> Iterator[TrelloConnector]:
    config = TrelloConfig(
        scope=BOARD,
        api_key="the-key",
        api_token="the-token",
        list_names={"todo": "To Do", "in_progress": "Doing", "done": "Done"},
    )
    built = TrelloConnector(config, sleep=lambda seconds: None)
    yield built
    built.close()


def test_every_request_carries_key_and_token_as_query_parameters(
    api: respx.MockRouter, connector: TrelloConnector
) -> None:
    route = api.get(f"/cards/{CARD_ID}").respond(json=card())

    connector.fetch_item(RemoteRef(CARD_ID))

    sent = route.calls.last.request
    assert sent.url.params["key"] == "the-key"
    assert sent.url.params["token"] == "the-token"
    assert "idList" in sent.url.params["fields"]


def test_create_posts_one_card_with_list_marker_due_member_and_goal_label(
    api: respx.MockRouter, connector: TrelloConnector
) -> None:
    api.get(f"/boards/{BOARD}/labels").respond(json=[{"id": "d" * 24, "name": "Grow revenue"}])
    create = api.post("/cards").respond(
        json=card(labels=[{"id": "d" * 24, "name": "Grow revenue"}])
    )
    item_id = uuid.UUID(int=7)

    created = connector.create_item(
        ItemSpec(
            item_id=item_id,
            title="Write the guide",
            description="Steps.",
            due_date=date(2027, 3, 1),
            assignee="e" * 24,
            goal_title="Grow revenue",
        )
    )

    assert create.call_count == 1
    body = json.loads(create.calls.last.request.content)
    assert body == {
        "name": "Write the guide",
        "desc": f"Steps.\n\nplanbridge:item={item_id}",
        "due": "2027-03-01T12:00:00Z",
        "idMembers": "e" * 24,
        "idLabels": "d" * 24,
        "idList": TODO,
        "pos": "bottom",
    }
    assert created.item_id == item_id
    assert created.labels == ("Grow revenue",)
    assert connector.client.write_count == 1


def test_status_move_is_one_put_with_the_target_list(
    api: respx.MockRouter, connector: TrelloConnector
) -> None:
    move = api.put(f"/cards/{CARD_ID}").respond(json=card(idList=DONE))
    spec = ItemSpec(item_id=uuid.UUID(int=7), title="x", status=RemoteStatus.done)

    moved = connector.update_item(RemoteRef(CARD_ID), spec, {"status"})

    assert json.loads(move.calls.last.request.content) == {"idList": DONE, "closed": False}
    assert moved.status is RemoteStatus.done


def test_dropping_an_item_archives_the_card(
    api: respx.MockRouter, connector: TrelloConnector
) -> None:
    archive = api.put(f"/cards/{CARD_ID}").respond(json=card(closed=True))
    spec = ItemSpec(item_id=uuid.UUID(int=7), title="x", status=RemoteStatus.dropped)

    dropped = connector.update_item(RemoteRef(CARD_ID), spec, {"status"})

    assert json.loads(archive.calls.last.request.content) == {"closed": True}
    assert dropped.status is RemoteStatus.dropped


@pytest.mark.parametrize("body", ["invalid key", "invalid token"])
def test_401_plain_text_is_auth_failed(
    api: respx.MockRouter, connector: TrelloConnector, body: str
) -> None:
    api.get(f"/boards/{BOARD}").respond(401, text=body)

    with pytest.raises(AuthFailed, match=body):
        connector.check()


@pytest.mark.parametrize("error", ["API_TOKEN_LIMIT_EXCEEDED", "API_KEY_LIMIT_EXCEEDED"])
def test_429_body_is_rate_limited_for_the_ten_second_window(
    api: respx.MockRouter, connector: TrelloConnector, error: str
) -> None:
    api.get(f"/cards/{CARD_ID}").respond(
        429, json={"error": error, "message": "Rate limit exceeded"}
    )

    with pytest.raises(RateLimited, match=error) as limited:
        connector.fetch_item(RemoteRef(CARD_ID))

    assert limited.value.retry_after == 10


def test_429_with_a_retry_after_header_uses_it(
    api: respx.MockRouter, connector: TrelloConnector
) -> None:
    api.get(f"/cards/{CARD_ID}").respond(
        429, json={"error": "API_TOKEN_LIMIT_EXCEEDED"}, headers={"Retry-After": "3"}
    )

    with pytest.raises(RateLimited) as limited:
        connector.fetch_item(RemoteRef(CARD_ID))

    assert limited.value.retry_after == 3


def test_missing_card_is_none_but_other_404s_are_not_found(
    api: respx.MockRouter, connector: TrelloConnector
) -> None:
    api.get(f"/cards/{CARD_ID}").respond(404, text="The requested resource was not found.")
    api.get(f"/boards/{BOARD}").respond(404, text="The requested resource was not found.")

    assert connector.fetch_item(RemoteRef(CARD_ID)) is None
    assert connector.fetch_item(RemoteRef("not-a-card-id")) is None
    with pytest.raises(NotFound):
        connector.check()


def test_400_is_invalid_and_5xx_and_timeouts_are_transient(
    api: respx.MockRouter, connector: TrelloConnector
) -> None:
    route = api.get(f"/cards/{CARD_ID}")
    route.respond(400, text="invalid id")
    with pytest.raises(Invalid, match="invalid id"):
        connector.fetch_item(RemoteRef(CARD_ID))
    route.respond(503, text="Service Unavailable")
    with pytest.raises(Transient):
        connector.fetch_item(RemoteRef(CARD_ID))
    route.side_effect = httpx.ReadTimeout("slow")
    with pytest.raises(Transient) as timed_out:
        connector.fetch_item(RemoteRef(CARD_ID))
    assert "the-token" not in str(timed_out.value)


def test_check_names_every_missing_list(api: respx.MockRouter, connector: TrelloConnector) -> None:
    api.get(f"/boards/{BOARD}").respond(
        json={"id": BOARD, "name": "Roadmap", "closed": False, "lists": LISTS[:1]}
    )

    with pytest.raises(Invalid, match="'Doing', 'Done'"):
        connector.check()


def test_batch_answers_are_read_in_order_by_status_key(api: respx.MockRouter) -> None:
    route = api.get("/batch").respond(json=[{"200": {"id": "x"}}, {"404": "not found"}])
    client = TrelloClient(
        "https://api.trello.com", "k", "t", 5, RequestPacer(100, 10, sleep=lambda s: None)
    )

    answers = client.batch(["/cards/x", "/cards/y"])

    assert answers == [(200, {"id": "x"}), (404, "not found")]
    assert route.calls.last.request.url.params["urls"] == "/cards/x,/cards/y"
    with pytest.raises(ValueError):
        client.batch([f"/cards/{number}" for number in range(11)])
    client.close()


def test_rate_limit_headers_are_recorded(api: respx.MockRouter, connector: TrelloConnector) -> None:
    api.get(f"/cards/{CARD_ID}").respond(
        json=card(),
        headers={"x-rate-limit-api-token-max": "100", "x-rate-limit-api-token-remaining": "97"},
    )

    connector.fetch_item(RemoteRef(CARD_ID))

    assert (connector.rate_limit.limit, connector.rate_limit.remaining) == (100, 97)
