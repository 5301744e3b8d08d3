"""Trello action objects as the API returns them: ``data``, ``display`` and ``memberCreator``.

Shapes follow Trello's action objects (https://developer.atlassian.com/cloud/trello/guides/rest-api/action-types/):
a move is an ``updateCard`` with ``data.listBefore``/``data.listAfter`` and ``data.old.idList``.
"""

from __future__ import annotations

from typing import Any


def member_creator(member: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": member["id"],
        "activityBlocked": False,
        "avatarHash": member["avatarHash"],
        "avatarUrl": member["avatarUrl"],
        "fullName": member["fullName"],
        "idMemberReferrer": None,
        "initials": member["initials"],
        "nonPublic": {},
        "nonPublicAvailable": True,
        "username": member["username"],
    }


def board_ref(board: dict[str, Any]) -> dict[str, Any]:
    return {"id": board["id"], "name": board["name"], "shortLink": board["shortLink"]}


def list_ref(trello_list: dict[str, Any]) -> dict[str, Any]:
    return {"id": trello_list["id"], "name": trello_list["name"]}


def card_ref(card: dict[str, Any], *extra: str) -> dict[str, Any]:
    ref = {key: card[key] for key in ("id", "name", "idShort", "shortLink")}
    for key in extra:
        ref[key] = card[key]
    return ref


def entity_card(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "card",
        "id": card["id"],
        "shortLink": card["shortLink"],
        "text": card["name"],
        "idList": card["idList"],
    }


def entity_list(trello_list: dict[str, Any]) -> dict[str, Any]:
    return {"type": "list", "id": trello_list["id"], "text": trello_list["name"]}


def entity_member(member: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "member",
        "id": member["id"],
        "username": member["username"],
        "text": member["fullName"],
    }


def action_limits(kind: str) -> dict[str, Any]:
    """A comment's reaction limits; other actions carry an empty ``limits`` object."""
    if kind != "commentCard":
        return {}
    counted = {"status": "ok", "disableAt": 900, "warnAt": 720}
    return {"reactions": {"perAction": counted, "uniquePerAction": {**counted, "disableAt": 17}}}


def action(
    action_id: str,
    kind: str,
    date: str,
    member: dict[str, Any],
    data: dict[str, Any],
    translation_key: str,
    entities: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": action_id,
        "idMemberCreator": member["id"],
        "data": data,
        "appCreator": None,
        "type": kind,
        "date": date,
        "limits": action_limits(kind),
        "display": {
            "translationKey": translation_key,
            "entities": {**entities, "memberCreator": entity_member(member)},
        },
        "memberCreator": member_creator(member),
    }


def update_translation_key(field: str, old: Any, new: Any) -> str:
    """The ``display.translationKey`` Trello gives an updateCard of ``field``."""
    if field == "idList":
        return "action_move_card_from_list_to_list"
    if field == "closed":
        return "action_archived_card" if new else "action_sent_card_to_board"
    if field == "name":
        return "action_renamed_card"
    if field == "desc":
        return "action_changed_description_of_card"
    if field == "due":
        if old is None:
            return "action_added_a_due_date"
        return "action_removed_a_due_date" if new is None else "action_changed_a_due_date"
    if field == "dueComplete":
        return (
            "action_marked_the_due_date_complete"
            if new
            else "action_marked_the_due_date_incomplete"
        )
    return "action_moved_card_lower"
