"""Webhook registration (HEAD handshake), signed deliveries and their parsing, end to end."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from connectors.base import Invalid, ItemSpec, OutOfScope
from connectors.trello import TrelloConnector
from tests.trackers.server import LoopbackServer
from tests.trackers.trello.harness import TrelloHarness


class Receiver:
    """A stand-in for planbridge's webhook endpoint: 200 to HEAD on /hooks, records every POST."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        status = 200 if request.url.path.startswith("/hooks") else 404
        if request.method == "POST" and status == 200:
            self.received.append((dict(request.headers), await request.body()))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def harness() -> Iterator[TrelloHarness]:
    started = TrelloHarness()
    yield started
    started.close()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with LoopbackServer(app) as server:
        yield app, server.url


def spec(title: str = "Ship the pricing page") -> ItemSpec:
    return ItemSpec(item_id=uuid.uuid4(), title=title, description="Copy and layout.")


def deliveries(harness: TrelloHarness, receiver: Receiver) -> list[tuple[dict[str, str], bytes]]:
    harness.emulator.deliveries.wait_for_deliveries()
    return list(receiver.received)


def test_signature_round_trip_uses_the_callback_url_exactly_as_registered(
    harness: TrelloHarness, receiver: tuple[Receiver, str]
) -> None:
    app, base = receiver
    callback = f"{base}/hooks/trello?connection=42"
    connector = harness.connector(callback_url=None)
    connector.register_webhook(callback)
    ref = connector.create_item(spec()).ref
    harness.emulator.person_moves(ref.external_id, "Doing")

    (created_headers, created_body), (moved_headers, moved_body) = deliveries(harness, app)

    assert connector.verify_webhook(moved_headers, moved_body)
    hints = connector.parse_webhook(moved_headers, moved_body)
    assert [(hint.event, hint.ref and hint.ref.external_id) for hint in hints] == [
        ("card_moved", ref.external_id)
    ]
    assert connector.parse_webhook(created_headers, created_body)[0].event == "card_created"
    # The same delivery checked against a URL that differs only in its query string fails.
    configured = harness.connector(callback_url=callback)
    near_miss = harness.connector(callback_url=f"{base}/hooks/trello")
    try:
        assert configured.verify_webhook(moved_headers, moved_body)
        assert not near_miss.verify_webhook(moved_headers, moved_body)
        assert not configured.verify_webhook({}, moved_body)
    finally:
        for built in (connector, configured, near_miss):
            built.close()


def test_registration_fails_when_the_head_check_does_not_answer_200(
    harness: TrelloHarness, receiver: tuple[Receiver, str]
) -> None:
    _, base = receiver
    connector = harness.connector()
    try:
        with pytest.raises(Invalid, match="did not return 200"):
            connector.register_webhook(f"{base}/not-listening")
    finally:
        connector.close()
    assert harness.emulator.store.webhooks == {}


def test_archive_edit_delete_and_unrelated_actions_become_the_right_hints(
    harness: TrelloHarness, receiver: tuple[Receiver, str]
) -> None:
    app, base = receiver
    connector: TrelloConnector = harness.connector(callback_url=None)
    connector.register_webhook(f"{base}/hooks")
    created = connector.create_item(spec())
    card_id = created.ref.external_id
    harness.emulator.person_edits(card_id, desc=f"New text\n\nplanbridge:item={created.item_id}")
    harness.emulator.person_archives(card_id)
    harness.emulator.person_edits(card_id, pos=5)  # a reorder: nothing planbridge reads
    harness.emulator.person_deletes(card_id)

    hints: list[Any] = []
    delivery_ids = []
    for headers, body in deliveries(harness, app):
        assert connector.verify_webhook(headers, body)
        delivery_ids.append(connector.webhook_delivery_id(headers, body))
        hints.extend(connector.parse_webhook(headers, body))

    assert [hint.event for hint in hints] == [
        "card_created",
        "card_updated",
        "card_archived",
        "card_deleted",
    ]
    assert hints[1].item_id == created.item_id
    assert hints[3].deleted
    assert len(set(delivery_ids)) == len(delivery_ids)
    connector.close()


def _action_body(board_id: str, **action: Any) -> bytes:
    return json.dumps(
        {"action": {"id": "1", "data": {"board": {"id": board_id}}, **action}}
    ).encode()


def test_a_delivery_that_is_not_a_card_change_gives_no_hints(harness: TrelloHarness) -> None:
    connector = harness.connector()
    body = _action_body(harness.emulator.board["id"], type="addMemberToBoard")
    try:
        assert connector.parse_webhook({}, body) == []
        assert connector.webhook_delivery_id({}, body) == "1"
    finally:
        connector.close()


def test_an_action_on_another_board_is_out_of_scope(harness: TrelloHarness) -> None:
    connector = harness.connector()
    card = {"id": "c1", "name": "Elsewhere", "desc": ""}
    body = _action_body("another-board", type="createCard", date="2026-01-05T10:00:00.000Z")
    body = body.replace(b'"data": {', b'"data": {"card": ' + json.dumps(card).encode() + b", ")
    try:
        with pytest.raises(OutOfScope, match="another-board"):
            connector.parse_webhook({}, body)
        with pytest.raises(OutOfScope, match="no board"):
            connector.parse_webhook({}, b'{"action": {"id": "2", "type": "createCard"}}')
    finally:
        connector.close()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b"[1,2,3]", b"[" * 100_000 + b"]" * 100_000, b'{"model": {}}'],
    ids=["not-json", "empty", "list", "deep-nesting", "no-action"],
)
def test_a_body_without_an_action_is_invalid_for_its_id_and_its_hints(
    harness: TrelloHarness, body: bytes
) -> None:
    connector = harness.connector()
    try:
        with pytest.raises(Invalid):
            connector.webhook_delivery_id({}, body)
        with pytest.raises(Invalid):
            connector.parse_webhook({}, body)
    finally:
        connector.close()


def test_a_malformed_action_field_is_invalid_never_another_error(harness: TrelloHarness) -> None:
    connector = harness.connector()
    board = harness.emulator.board["id"]
    bodies = [
        _action_body(board, type="createCard", date="the fifth of May")
        .replace(b'"data": {', b'"data": {"card": {"id": "c1"}, '),
        json.dumps({"action": {"id": "3", "type": "updateCard", "data": [board]}}).encode(),
        json.dumps(
            {"action": {"id": "4", "type": "updateCard", "data": {"board": {"id": board},
             "card": {"id": "c1"}, "old": ["name"]}}}
        ).encode(),
    ]  # fmt: skip
    try:
        for body in bodies:
            with pytest.raises((Invalid, OutOfScope)):
                connector.parse_webhook({}, body)
    finally:
        connector.close()
