"""Whole Trello objects as the API returns them with the default ``fields``.

Field names and types follow Trello's REST reference (https://developer.atlassian.com/cloud/trello/rest/)
and its published object descriptions (card, list, board, label, member, webhook). Clients read
fields without asking for them (py-trello reads ``badges``, ``idChecklists``, ``labels`` and
``dateLastActivity`` of every card it gets), so a missing field breaks a client, not only a test.
The emulator has no checklists, attachments, votes or stickers: those fields are present and empty.
"""

from __future__ import annotations

from typing import Any


def card_badges(card: dict[str, Any]) -> dict[str, Any]:
    """The counters Trello shows on a card's front."""
    return {
        "attachmentsByType": {"trello": {"board": 0, "card": 0}},
        "location": False,
        "votes": 0,
        "viewingMemberVoted": False,
        "subscribed": False,
        "fogbugz": "",
        "checkItems": 0,
        "checkItemsChecked": 0,
        "checkItemsEarliestDue": None,
        "comments": card.get("_comments", 0),
        "attachments": 0,
        "description": bool(card["desc"]),
        "due": card["due"],
        "dueComplete": card["dueComplete"],
        "start": card["start"],
    }


def card(card: dict[str, Any], labels: list[dict[str, Any]]) -> dict[str, Any]:
    rendered = {key: value for key, value in card.items() if not key.startswith("_")}
    rendered.update(
        {
            "badges": card_badges(card),
            "checkItemStates": [],
            "cover": {
                "idAttachment": None,
                "color": None,
                "idUploadedBackground": None,
                "size": "normal",
                "brightness": "dark",
                "idPlugin": None,
            },
            "descData": {"emoji": {}},
            "dueReminder": None,
            "email": None,
            "idAttachmentCover": None,
            "idChecklists": [],
            "idMembers": list(card["idMembers"]),
            "idMembersVoted": [],
            "idLabels": list(card["idLabels"]),
            "isTemplate": False,
            "labels": [label_object(label) for label in labels],
            "manualCoverAttachment": False,
            "subscribed": False,
        }
    )
    return rendered


def label_object(label: dict[str, Any]) -> dict[str, Any]:
    """A label as a card carries it and GET /1/labels/{id} answers: no use count."""
    return {key: value for key, value in label.items() if key != "uses"}


def board(board: dict[str, Any], labels: list[dict[str, Any]]) -> dict[str, Any]:
    rendered = {key: value for key, value in board.items() if key != "nextIdShort"}
    names = {color: "" for color in ("green", "yellow", "orange", "red", "purple", "blue")}
    for label in labels:
        if label["color"] in names and not names[label["color"]]:
            names[label["color"]] = label["name"]
    rendered.update(
        {
            "descData": None,
            "idOrganization": board["idOrganization"],
            "idEnterprise": None,
            "pinned": False,
            "starred": False,
            "subscribed": False,
            "dateLastActivity": board.get("dateLastActivity"),
            "prefs": {
                "permissionLevel": "private",
                "voting": "disabled",
                "comments": "members",
                "invitations": "members",
                "selfJoin": True,
                "cardCovers": True,
                "background": "blue",
                "backgroundColor": "#0079BF",
                "cardAging": "regular",
                "calendarFeedEnabled": False,
            },
            "labelNames": names,
        }
    )
    return rendered


def list_object(trello_list: dict[str, Any]) -> dict[str, Any]:
    return {**trello_list, "softLimit": None}


def member(member: dict[str, Any]) -> dict[str, Any]:
    return {
        **member,
        "bio": "",
        "confirmed": True,
        "email": None,
        "idBoards": [],
        "memberType": "normal",
        "status": "disconnected",
        "url": f"https://trello.com/{member['username']}",
    }


def webhook(webhook: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in webhook.items() if not key.startswith("_")}
