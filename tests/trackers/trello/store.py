"""The emulator's state: boards, lists, labels, members, cards, actions and webhooks, behind a lock.

Every change to a card appends the action Trello would record and tells the listeners (webhook
deliveries). Ids look like Trello's: 24 hex digits whose first 8 are the creation second, so ids
sort by creation time, which ``since``/``before`` paging relies on.
"""

from __future__ import annotations

import itertools
import re
import secrets
import string
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.trackers.faults import EmulatorClock
from tests.trackers.trello import actions as shapes
from tests.trackers.trello import objects

ID_PATTERN = re.compile(r"^[0-9a-f]{24}$")
SHORT_LINK_PATTERN = re.compile(r"^[0-9A-Za-z]{8}$")
MAX_DESCRIPTION = 16384
COMMENT_LIMIT = 16384
NOT_FOUND = "The requested resource was not found."
UPDATABLE_FIELDS = ("name", "desc", "due", "dueComplete", "idList", "closed", "pos")


class TrelloError(Exception):
    """An error answer: status and the body Trello sends (plain text, or a dict for JSON)."""

    def __init__(self, status: int, body: str | dict[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def trello_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_date(value: Any, field: str) -> str | None:
    if value in (None, "", "null"):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise TrelloError(400, f"invalid value for {field}") from error
    return trello_date(parsed)


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise TrelloError(400, f"invalid value for {field}")


def parse_ids(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


class TrelloStore:
    def __init__(self, clock: EmulatorClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._counter = itertools.count(1)
        self.keys: dict[str, str] = {}  # api key -> app secret (signs webhooks)
        self.tokens: dict[str, tuple[str, str]] = {}  # token -> (api key, member id)
        self.members: dict[str, dict[str, Any]] = {}
        self.boards: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, Any]] = {}
        self.actions: list[dict[str, Any]] = []
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._list_bounds: dict[str, tuple[float, float]] = {}  # list id -> (top, bottom) pos

    # ------------------------------------------------------------------------------ ids, lookups

    def new_id(self) -> str:
        return f"{int(self.clock.timestamp()):08x}{next(self._counter):016x}"

    def now(self) -> str:
        return trello_date(self.clock.now())

    @staticmethod
    def short_link() -> str:
        return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(8))

    def _find(self, table: dict[str, dict[str, Any]], object_id: str) -> dict[str, Any]:
        if not (ID_PATTERN.match(object_id) or SHORT_LINK_PATTERN.match(object_id)):
            raise TrelloError(400, "invalid id")
        found = table.get(object_id) or next(
            (row for row in table.values() if row.get("shortLink") == object_id), None
        )
        if found is None:
            raise TrelloError(404, NOT_FOUND)
        return found

    def board(self, board_id: str) -> dict[str, Any]:
        return self._find(self.boards, board_id)

    def card(self, card_id: str) -> dict[str, Any]:
        return self._find(self.cards, card_id)

    # ------------------------------------------------------------------------------ setup

    def add_member(self, username: str, full_name: str) -> dict[str, Any]:
        initials = "".join(part[0] for part in full_name.split()[:2]).upper()
        member_id, avatar = self.new_id(), secrets.token_hex(16)
        member = {
            "id": member_id,
            "username": username,
            "fullName": full_name,
            "initials": initials,
            "avatarHash": avatar,
            "avatarUrl": f"https://trello-members.s3.amazonaws.com/{member_id}/{avatar}",
        }
        self.members[member["id"]] = member
        return member

    def add_token(self, api_key: str, member_id: str) -> str:
        token = secrets.token_hex(32)
        self.tokens[token] = (api_key, member_id)
        return token

    def add_board(self, name: str, list_names: list[str], member_ids: list[str]) -> dict[str, Any]:
        with self.lock:
            link = self.short_link()
            board: dict[str, Any] = {
                "id": self.new_id(),
                "name": name,
                "desc": "",
                "closed": False,
                "shortLink": link,
                "url": f"https://trello.com/b/{link}/{name.lower().replace(' ', '-')}",
                "shortUrl": f"https://trello.com/b/{link}",
                "idMembers": list(member_ids),
                "idOrganization": self.new_id(),  # the workspace the board belongs to
                "dateLastActivity": self.now(),
                "nextIdShort": 1,
            }
            self.boards[board["id"]] = board
            for position, list_name in enumerate(list_names, start=1):
                self.add_list(board["id"], list_name, position * 16384)
            return board

    def add_list(self, board_id: str, name: str, pos: float) -> dict[str, Any]:
        trello_list: dict[str, Any] = {
            "id": self.new_id(),
            "name": name,
            "closed": False,
            "idBoard": board_id,
            "pos": pos,
            "subscribed": False,
        }
        self.lists[trello_list["id"]] = trello_list
        return trello_list

    def board_lists(self, board_id: str) -> list[dict[str, Any]]:
        found = [row for row in self.lists.values() if row["idBoard"] == board_id]
        return sorted(found, key=lambda row: row["pos"])

    def list_named(self, board_id: str, name: str) -> dict[str, Any]:
        for trello_list in self.board_lists(board_id):
            if trello_list["name"] == name:
                return trello_list
        raise KeyError(name)

    # ------------------------------------------------------------------------------ labels

    def create_label(self, board_id: str, name: str, color: str | None) -> dict[str, Any]:
        with self.lock:
            board = self.board(board_id)
            label = {
                "id": self.new_id(),
                "idBoard": board["id"],
                "name": name or "",
                "color": color,
                "uses": 0,
            }
            self.labels[label["id"]] = label
            return label

    def board_labels(self, board_id: str) -> list[dict[str, Any]]:
        return [row for row in self.labels.values() if row["idBoard"] == board_id]

    # ------------------------------------------------------------------------------ cards

    def render_card(self, card: dict[str, Any]) -> dict[str, Any]:
        return objects.card(card, [self.labels[label_id] for label_id in card["idLabels"]])

    def _check_members_and_labels(self, board: dict[str, Any], fields: dict[str, Any]) -> None:
        if "idMembers" in fields:
            for member_id in fields["idMembers"]:
                if member_id not in board["idMembers"]:
                    raise TrelloError(400, "invalid value for idMembers")
        if "idLabels" in fields:
            for label_id in fields["idLabels"]:
                label = self.labels.get(label_id)
                if label is None or label["idBoard"] != board["id"]:
                    raise TrelloError(400, "invalid value for idLabels")

    def _clean_fields(self, raw: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if "name" in raw:
            fields["name"] = str(raw["name"] or "")
        if "desc" in raw:
            desc = str(raw["desc"] or "")
            if len(desc) > MAX_DESCRIPTION:
                raise TrelloError(400, "invalid value for desc")
            fields["desc"] = desc
        if "due" in raw:
            fields["due"] = parse_date(raw["due"], "due")
        for flag in ("dueComplete", "closed"):
            if flag in raw:
                fields[flag] = parse_bool(raw[flag], flag)
        for many in ("idMembers", "idLabels"):
            if many in raw:
                fields[many] = parse_ids(raw[many])
        if "pos" in raw and str(raw["pos"]) not in ("top", "bottom"):
            try:
                fields["pos"] = float(raw["pos"])
            except (TypeError, ValueError) as error:
                raise TrelloError(400, "invalid value for pos") from error
        if raw.get("idList"):
            fields["idList"] = str(raw["idList"])
        return fields

    def create_card(self, member: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            list_id = str(raw.get("idList") or "")
            if not ID_PATTERN.match(list_id) or list_id not in self.lists:
                raise TrelloError(400, "invalid value for idList")
            trello_list = self.lists[list_id]
            board = self.boards[trello_list["idBoard"]]
            fields = self._clean_fields(raw)
            self._check_members_and_labels(board, fields)
            # Positions per list are tracked, not scanned, so seeding 10,000 cards stays quick.
            lowest, highest = self._list_bounds.get(list_id, (16384.0, 0.0))
            top = str(raw.get("pos", "bottom")) == "top"
            pos = lowest / 2 if top else highest + 16384
            self._list_bounds[list_id] = (min(lowest, pos), max(highest, pos))
            link = self.short_link()
            id_short = board["nextIdShort"]
            board["nextIdShort"] += 1
            name = fields.get("name", "")
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            card = {
                "id": self.new_id(),
                "idShort": id_short,
                "shortLink": link,
                "url": f"https://trello.com/c/{link}/{id_short}-{slug}",
                "shortUrl": f"https://trello.com/c/{link}",
                "name": name,
                "desc": fields.get("desc", ""),
                "due": fields.get("due"),
                "dueComplete": fields.get("dueComplete", False),
                "start": None,
                "closed": False,
                "idList": list_id,
                "idBoard": board["id"],
                "idMembers": fields.get("idMembers", []),
                "idLabels": fields.get("idLabels", []),
                "dateLastActivity": self.now(),
                "pos": pos,
            }
            self.cards[card["id"]] = card
            self._record(
                "createCard",
                member,
                board,
                {"card": shapes.card_ref(card), "list": shapes.list_ref(trello_list)},
                "action_create_card",
                {"card": shapes.entity_card(card), "list": shapes.entity_list(trello_list)},
            )
            return self.render_card(card)

    def update_card(
        self, member: dict[str, Any], card_id: str, raw: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            card = self.card(card_id)
            board = self.boards[card["idBoard"]]
            fields = self._clean_fields(raw)
            if "idList" in fields:
                target = self.lists.get(fields["idList"])
                if target is None or target["idBoard"] != board["id"]:
                    raise TrelloError(400, "invalid value for idList")
            self._check_members_and_labels(board, fields)
            for field in ("idMembers", "idLabels"):
                if field in fields:
                    card[field] = fields.pop(field)
            for field in UPDATABLE_FIELDS:
                if field in fields and fields[field] != card[field]:
                    self._update_one(member, board, card, field, fields[field])
            card["dateLastActivity"] = self.now()
            return self.render_card(card)

    def _update_one(
        self,
        member: dict[str, Any],
        board: dict[str, Any],
        card: dict[str, Any],
        field: str,
        new: Any,
    ) -> None:
        """Apply one field change and record the updateCard action Trello records for it."""
        old = card[field]
        card[field] = new
        key = shapes.update_translation_key(field, old, new)
        data: dict[str, Any] = {"card": shapes.card_ref(card, field), "old": {field: old}}
        entities: dict[str, Any] = {"card": shapes.entity_card(card)}
        if field == "idList":
            data["listBefore"] = shapes.list_ref(self.lists[old])
            data["listAfter"] = shapes.list_ref(self.lists[new])
            entities["listBefore"] = shapes.entity_list(self.lists[old])
            entities["listAfter"] = shapes.entity_list(self.lists[new])
        else:
            data["list"] = shapes.list_ref(self.lists[card["idList"]])
        self._record("updateCard", member, board, data, key, entities)

    def delete_card(self, member: dict[str, Any], card_id: str) -> None:
        with self.lock:
            card = self.card(card_id)
            board = self.boards[card["idBoard"]]
            del self.cards[card["id"]]
            data = {
                "card": {
                    "id": card["id"],
                    "idShort": card["idShort"],
                    "shortLink": card["shortLink"],
                },
                "list": shapes.list_ref(self.lists[card["idList"]]),
            }
            entities = {"card": {"type": "card", "id": card["id"], "idShort": card["idShort"]}}
            self._record("deleteCard", member, board, data, "action_delete_card", entities)

    def comment_card(self, member: dict[str, Any], card_id: str, text: Any) -> dict[str, Any]:
        """POST /1/cards/{id}/actions/comments: Trello answers with the commentCard action."""
        with self.lock:
            card = self.card(card_id)
            if not isinstance(text, str) or not 0 < len(text) <= COMMENT_LIMIT:
                raise TrelloError(400, "invalid value for text")
            board = self.boards[card["idBoard"]]
            trello_list = self.lists[card["idList"]]
            data = {
                "text": text,
                "textData": {"emoji": {}},
                "card": shapes.card_ref(card),
                "list": shapes.list_ref(trello_list),
            }
            entities = {
                "contextOn": {
                    "type": "translatable",
                    "translationKey": "action_on",
                    "hideIfContext": True,
                    "idContext": card["id"],
                },
                "card": shapes.entity_card(card),
                "comment": {"type": "comment", "text": text},
            }
            card["dateLastActivity"] = self.now()
            card["_comments"] = card.get("_comments", 0) + 1
            recorded = self._record(
                "commentCard", member, board, data, "action_comment_on_card", entities
            )
            return recorded

    def _record(
        self,
        kind: str,
        member: dict[str, Any],
        board: dict[str, Any],
        data: dict[str, Any],
        translation_key: str,
        entities: dict[str, Any],
    ) -> dict[str, Any]:
        data = {**data, "board": shapes.board_ref(board)}
        recorded = shapes.action(
            self.new_id(), kind, self.now(), member, data, translation_key, entities
        )
        self.actions.append(recorded)
        board["dateLastActivity"] = recorded["date"]
        for listener in list(self.listeners):
            listener(recorded)
        return recorded

    # ------------------------------------------------------------------------------ reads

    def board_cards(
        self,
        board_id: str,
        card_filter: str,
        limit: int | None,
        before: str | None,
        since: str | None,
    ) -> list[dict[str, Any]]:
        with self.lock:
            board = self.board(board_id)
            cards = [card for card in self.cards.values() if card["idBoard"] == board["id"]]
            if card_filter in ("open", "visible"):
                cards = [card for card in cards if not card["closed"]]
            elif card_filter == "closed":
                cards = [card for card in cards if card["closed"]]
            if limit is None and before is None and since is None:
                # Unpaged, Trello answers in board order: list by list, top to bottom.
                cards.sort(key=lambda card: (self.lists[card["idList"]]["pos"], card["pos"]))
                return [self.render_card(card) for card in cards]
            # Paged, newest card first, bounded by card ids.
            cards.sort(key=lambda card: card["id"], reverse=True)
            if before:
                cards = [card for card in cards if card["id"] < before]
            if since:
                cards = [card for card in cards if card["id"] > since]
            return [self.render_card(card) for card in cards[: limit or 1000]]

    def board_actions(
        self,
        board_id: str,
        types: set[str] | None,
        since: str | None,
        before: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        with self.lock:
            board = self.board(board_id)
            found = []
            for recorded in reversed(self.actions):
                if recorded["data"]["board"]["id"] != board["id"]:
                    continue
                if types is not None and not self._type_matches(recorded, types):
                    continue
                if since and not self._after(recorded, since):
                    continue
                if before and not self._before(recorded, before):
                    continue
                found.append(recorded)
                if len(found) >= limit:
                    break
            return found

    @staticmethod
    def _type_matches(recorded: dict[str, Any], types: set[str]) -> bool:
        if recorded["type"] in types:
            return True
        # "updateCard:idList" style filters name the changed field.
        old = recorded["data"].get("old") or {}
        return any(f"{recorded['type']}:{field}" in types for field in old)

    @staticmethod
    def _after(recorded: dict[str, Any], since: str) -> bool:
        if ID_PATTERN.match(since):
            return bool(recorded["id"] > since)
        return bool(recorded["date"] > (parse_date(since, "since") or ""))

    @staticmethod
    def _before(recorded: dict[str, Any], before: str) -> bool:
        if ID_PATTERN.match(before):
            return bool(recorded["id"] < before)
        return bool(recorded["date"] < (parse_date(before, "before") or ""))
