"""Incremental reads from a board's actions (GET /1/boards/{id}/actions), newest first.

Trello has no "cards modified since" filter, so a pass reads the actions since the cursor (the
newest action id seen), then fetches only the cards those actions touched: 10 per ``/1/batch`` call,
or the whole board in one call when many changed. Ten changed cards among 10,000 cost two calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.base import ChangePage, RemoteItem, RemoteRef, Transient
from connectors.trello import mapping
from connectors.trello.client import BATCH_LIMIT

if TYPE_CHECKING:
    from connectors.trello.connector import TrelloConnector

ACTION_FILTER = "createCard,updateCard,deleteCard"
# Trello's maximum page of actions.
ACTIONS_PAGE_LIMIT = 1000
# Past this many changed cards one board listing is cheaper in calls than ceil(n / 10) batches.
MAX_BATCHED_CARDS = 3 * BATCH_LIMIT


class ChangeReader:
    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector
        self.page_limit = ACTIONS_PAGE_LIMIT

    def fetch(self, cursor: dict[str, Any] | None) -> ChangePage:
        if cursor is None:
            return self._everything()
        actions = self._actions_since(cursor.get("action_id"))
        if not actions:
            return ChangePage(items=[], cursor=dict(cursor))
        newest = str(actions[0]["id"])
        deleted_ids: dict[str, RemoteRef] = {}
        changed_ids: list[str] = []
        # Oldest first, so a card created then deleted in the window ends up deleted.
        for action in reversed(actions):
            card = (action.get("data") or {}).get("card") or {}
            card_id = card.get("id")
            if not card_id:
                continue
            if action.get("type") == "deleteCard":
                deleted_ids[card_id] = mapping.card_ref(card)
            elif card_id not in changed_ids:
                changed_ids.append(card_id)
        wanted = [card_id for card_id in changed_ids if card_id not in deleted_ids]
        cards, gone = self._cards(wanted)
        for card_id in gone:
            deleted_ids.setdefault(card_id, RemoteRef(external_id=card_id))
        return ChangePage(
            items=self._planbridge_items(cards),
            cursor={"action_id": newest},
            deleted=list(deleted_ids.values()),
        )

    def _everything(self) -> ChangePage:
        """First pass: every planbridge card, and the newest action as the starting cursor.

        The action is read first, so a change made between the two calls is read again next pass
        rather than lost.
        """
        client = self.connector.client
        newest = client.get(
            f"/boards/{self.connector.board_id}/actions",
            {"filter": ACTION_FILTER, "limit": 1, "fields": "id,date"},
        )
        cards = client.get(
            f"/boards/{self.connector.board_id}/cards",
            {"filter": "all", "fields": mapping.CARD_FIELDS},
        )
        return ChangePage(
            items=self._planbridge_items(cards),
            cursor={"action_id": str(newest[0]["id"]) if newest else None},
        )

    def _actions_since(self, action_id: str | None) -> list[dict[str, Any]]:
        """Every matching action newer than ``action_id``, newest first, paging back."""
        collected: list[dict[str, Any]] = []
        params: dict[str, Any] = {"filter": ACTION_FILTER, "limit": self.page_limit}
        if action_id:
            params["since"] = action_id
        while True:
            page = self.connector.client.get(f"/boards/{self.connector.board_id}/actions", params)
            collected.extend(page)
            if len(page) < self.page_limit:
                return collected
            params = {**params, "before": str(page[-1]["id"])}

    def _cards(self, card_ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """The cards for ``card_ids`` and the ids Trello proved gone (404)."""
        if not card_ids:
            return [], []
        client = self.connector.client
        if len(card_ids) > MAX_BATCHED_CARDS:
            board_cards = client.get(
                f"/boards/{self.connector.board_id}/cards",
                {"filter": "all", "fields": mapping.CARD_FIELDS},
            )
            by_id = {str(card["id"]): card for card in board_cards}
            return [by_id[i] for i in card_ids if i in by_id], [
                i for i in card_ids if i not in by_id
            ]
        cards: list[dict[str, Any]] = []
        gone: list[str] = []
        for start in range(0, len(card_ids), BATCH_LIMIT):
            chunk = card_ids[start : start + BATCH_LIMIT]
            # Routes are comma-separated, so none carries ?fields=a,b: default card fields suffice.
            answers = client.batch([f"/cards/{card_id}" for card_id in chunk])
            for card_id, (status, body) in zip(chunk, answers, strict=True):
                if status == 200 and isinstance(body, dict):
                    cards.append(body)
                elif status == 404:
                    gone.append(card_id)
                else:
                    # Skipping it would advance the cursor past a change never read.
                    raise Transient(f"Trello batch answered {status} for card {card_id}")
        return cards, gone

    def _planbridge_items(self, cards: list[dict[str, Any]]) -> list[RemoteItem]:
        return [
            self.connector.to_item(card)
            for card in cards
            if mapping.item_id_from_description(card.get("desc")) is not None
        ]
