"""An independent client against the Trello emulator: py-trello, unchanged, over loopback.

py-trello signs every request with OAuth 1.0a (an ``Authorization: OAuth ...`` header carrying
``oauth_consumer_key`` and ``oauth_token``), reads whole card objects (``badges``,
``idChecklists``, ``labels``) and changes one field at a time with PUT /1/cards/{id}/{field}.
Its URLs are fixed to api.trello.com; its documented ``http_service`` hook (any object with
``request``) sends them to the emulator instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from trello import TrelloClient  # type: ignore[import-untyped]
from trello.exceptions import Unauthorized  # type: ignore[import-untyped]

from tests.trackers.trello.emulator import TrelloEmulator

TRELLO_HOSTS = ("https://api.trello.com", "https://trello.com")


class EmulatorSession(requests.Session):
    """A requests session that sends Trello's URLs to the emulator on loopback."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        address = url.decode() if isinstance(url, bytes) else url
        for host in TRELLO_HOSTS:
            if address.startswith(host + "/"):
                address = self.base_url + address[len(host) :]
        verb = method.decode() if isinstance(method, bytes) else method
        return super().request(verb, address, *args, **kwargs)


@pytest.fixture
def emulator() -> Iterator[TrelloEmulator]:
    started = TrelloEmulator()
    yield started
    started.close()


def client_for(emulator: TrelloEmulator, token: str | None = None) -> TrelloClient:
    return TrelloClient(
        api_key=emulator.api_key,
        api_secret=emulator.app_secret,
        token=token or emulator.token,
        token_secret="unused-by-trello-tokens",
        http_service=EmulatorSession(emulator.url),
    )


def test_py_trello_signs_in_with_the_oauth_header_and_reads_the_board(
    emulator: TrelloEmulator,
) -> None:
    board = client_for(emulator).get_board(emulator.board["id"])

    assert board.name == "Roadmap"
    assert [trello_list.name for trello_list in board.list_lists("open")] == [
        "To Do",
        "Doing",
        "Blocked",
        "Done",
    ]


def test_py_trello_is_refused_with_a_token_trello_does_not_know(emulator: TrelloEmulator) -> None:
    with pytest.raises(Unauthorized, match="invalid token"):
        client_for(emulator, token="0" * 64).get_board(emulator.board["id"])


def test_py_trello_reads_the_documented_card_fields_of_a_created_card(
    emulator: TrelloEmulator,
) -> None:
    board = client_for(emulator).get_board(emulator.board["id"])
    todo = board.get_list(emulator.list_id("To Do"))

    card = todo.add_card("Interview five customers", desc="Notes go here")
    card.comment("First call booked")
    card.fetch()

    assert card.badges["comments"] == 1
    assert card.badges["description"] is True
    assert card.countCheckLists == 0
    assert card.idList == emulator.list_id("To Do")


def test_py_trello_moves_a_card_with_put_id_list(emulator: TrelloEmulator) -> None:
    board = client_for(emulator).get_board(emulator.board["id"])
    card = board.get_list(emulator.list_id("To Do")).add_card("Ship the pilot")

    card.change_list(emulator.list_id("Doing"))

    assert emulator.store.card(card.id)["idList"] == emulator.list_id("Doing")
    move = emulator.latest_action_for(card.id)
    assert move["display"]["translationKey"] == "action_move_card_from_list_to_list"


def test_py_trello_archives_a_card_with_put_closed(emulator: TrelloEmulator) -> None:
    board = client_for(emulator).get_board(emulator.board["id"])
    card = board.get_list(emulator.list_id("To Do")).add_card("Drop the old plan")

    card.set_closed(True)

    assert emulator.store.card(card.id)["closed"] is True


def test_py_trello_lists_its_boards_and_a_lists_cards(emulator: TrelloEmulator) -> None:
    client = client_for(emulator)
    todo = client.get_board(emulator.board["id"]).get_list(emulator.list_id("To Do"))
    first, second = todo.add_card("First"), todo.add_card("Second")
    second.set_closed(True)

    boards = client.list_boards()
    open_cards = todo.list_cards()
    every_card = todo.list_cards(card_filter="all")

    assert [(board.id, board.name) for board in boards] == [(emulator.board["id"], "Roadmap")]
    assert [card.id for card in open_cards] == [first.id]
    assert [card.id for card in every_card] == [first.id, second.id]


def test_py_trello_lists_the_webhooks_of_its_token(emulator: TrelloEmulator) -> None:
    callback = "https://planbridge.example/webhooks/trello"
    emulator.deliveries.add(emulator.token, callback, emulator.board["id"], "planbridge")
    emulator.deliveries.add(emulator.person_token, callback, emulator.board["id"], "someone")

    hooks = client_for(emulator).list_hooks()

    assert [(hook.callback_url, hook.desc) for hook in hooks] == [(callback, "planbridge")]


def test_the_documented_oauth_header_without_a_signature_is_accepted(
    emulator: TrelloEmulator,
) -> None:
    header = f'OAuth oauth_consumer_key="{emulator.api_key}", oauth_token="{emulator.token}"'

    answer = httpx.get(
        f"{emulator.url}/1/boards/{emulator.board['id']}/cards",
        headers={"Authorization": header},
    )

    assert answer.status_code == 200
    assert answer.json() == []


def test_an_oauth_header_naming_another_key_is_refused(emulator: TrelloEmulator) -> None:
    header = f'OAuth oauth_consumer_key="{"1" * 32}", oauth_token="{emulator.token}"'

    answer = httpx.get(
        f"{emulator.url}/1/boards/{emulator.board['id']}", headers={"Authorization": header}
    )

    assert answer.status_code == 401
    assert answer.text == "invalid key"


def test_objects_carry_their_documented_fields(emulator: TrelloEmulator) -> None:
    auth = {"key": emulator.api_key, "token": emulator.token}
    card = emulator.store.create_card(emulator.bot, {"idList": emulator.list_id("To Do")})

    def get(path: str) -> Any:
        answer = httpx.get(f"{emulator.url}/1{path}", params=auth)
        assert answer.status_code == 200, answer.text
        return answer.json()

    card_fields = {
        "badges": dict,
        "checkItemStates": list,
        "closed": bool,
        "cover": dict,
        "dateLastActivity": str,
        "desc": str,
        "descData": dict,
        "due": type(None),
        "dueComplete": bool,
        "idBoard": str,
        "idChecklists": list,
        "idLabels": list,
        "idList": str,
        "idMembers": list,
        "idMembersVoted": list,
        "idShort": int,
        "isTemplate": bool,
        "labels": list,
        "manualCoverAttachment": bool,
        "name": str,
        "pos": float,
        "shortLink": str,
        "shortUrl": str,
        "subscribed": bool,
        "url": str,
    }
    fetched = get(f"/cards/{card['id']}")
    assert {name: type(fetched[name]) for name in card_fields} == card_fields
    board = get(f"/boards/{emulator.board['id']}")
    assert {"prefs", "labelNames", "idOrganization", "pinned", "url"} <= board.keys()
    trello_list = get(f"/lists/{emulator.list_id('Done')}")
    assert {"id", "name", "closed", "idBoard", "pos", "subscribed", "softLimit"} <= set(trello_list)
    member = get("/members/me")
    assert {"id", "username", "fullName", "initials", "avatarUrl", "url"} <= member.keys()
