"""Trello webhook signatures and deliveries (https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from connectors.base import Invalid, OutOfScope, RemoteHint
from connectors.trello.mapping import card_ref, item_id_from_description, parse_trello_datetime

SIGNATURE_HEADER = "x-trello-webhook"
# updateCard fields whose change planbridge reads; other updates (position, cover) are noise.
READ_FIELDS = ("name", "desc", "due", "dueComplete", "idList", "closed")


def signature(secret: str, body: bytes, callback_url: str) -> str:
    """base64(HMAC-SHA1(secret, body + callbackURL)), the value of ``X-Trello-Webhook``."""
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def is_signed_by(headers: Mapping[str, str], body: bytes, secret: str, callback_url: str) -> bool:
    sent = header(headers, SIGNATURE_HEADER)
    if not sent:
        return False
    return hmac.compare_digest(sent.encode(), signature(secret, body, callback_url).encode())


def load_action(body: bytes) -> dict[str, Any] | None:
    """The delivery's action, or None when the body is not a JSON object with one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: RecursionError
        return None
    action = payload.get("action") if isinstance(payload, dict) else None
    return action if isinstance(action, dict) else None


def check_board(action: Mapping[str, Any], board_id: str) -> None:
    """The action happened on the connection's board (by id, or the short link a person may
    have configured): a token's webhooks on other boards may share the callback URL."""
    data = action.get("data")
    board = data.get("board") if isinstance(data, dict) else None
    if not isinstance(board, dict) or not (board.get("id") or board.get("shortLink")):
        raise OutOfScope("the delivery names no board")
    if board_id in (board.get("id"), board.get("shortLink")):
        return
    raise OutOfScope(f"the delivery is about board {board.get('id')}, not {board_id}")


def parse_hints(action: Mapping[str, Any], board_id: str) -> list[RemoteHint]:
    """Hints of a verified action on the board; OutOfScope for another board, Invalid for an
    action whose fields are malformed."""
    check_board(action, board_id)
    try:
        return hints_from_action(action)
    except (
        ValueError,
        TypeError,
        AttributeError,
        LookupError,
        ArithmeticError,
        RecursionError,
    ) as exc:
        raise Invalid(f"malformed action in the delivery: {type(exc).__name__}: {exc}") from None


def update_event(data: Mapping[str, Any]) -> str | None:
    """What an updateCard action did, from the fields it lists in ``data.old``."""
    old = data.get("old") or {}
    if not isinstance(old, dict):
        raise Invalid("the action's data.old is not an object")
    if "listAfter" in data or "idList" in old:
        return "card_moved"
    if "closed" in old:
        return "card_archived" if (data.get("card") or {}).get("closed") else "card_unarchived"
    if any(name in old for name in READ_FIELDS):
        return "card_updated"
    return None


def hints_from_action(action: Mapping[str, Any]) -> list[RemoteHint]:
    """Hints for card creations, moves, edits, archiving and deletion; anything else gives []."""
    data = action.get("data") or {}
    card = data.get("card")
    if not isinstance(card, dict) or "id" not in card:
        return []
    kind = action.get("type")
    event: str | None
    if kind == "createCard":
        event = "card_created"
    elif kind == "deleteCard":
        event = "card_deleted"
    elif kind == "updateCard":
        event = update_event(data)
    else:
        event = None
    if event is None:
        return []
    return [
        RemoteHint(
            event=event,
            ref=card_ref(card),
            item_id=item_id_from_description(card.get("desc")),
            updated_at=parse_trello_datetime(action.get("date")),
            deleted=event == "card_deleted",
        )
    ]
