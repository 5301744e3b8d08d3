"""Incremental reads from a board's actions (GET /1/boards/{id}/actions), newest first.

Trello has no "cards modified since" filter, so a pass reads the actions since the cursor (the
newest action id seen), then fetches only the cards those actions touched: 10 per ``/1/batch`` call,
or the whole board when many changed. Ten changed cards among 10,000 cost two calls.

The cursor is ``{"action_id": <newest action id>}``; during the first pass, which lists the board's
cards page by page (newest card first), it also holds ``cards_before``, the last card id read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from connectors.base import ChangePage, RemoteItem, RemoteRef, Transient
from connectors.trello import mapping
from connectors.trello.client import BATCH_LIMIT

if TYPE_CHECKING:
    from connectors.trello.connector import TrelloConnector

ACTION_FILTER = "createCard,updateCard,deleteCard"
# Past this many changed cards one board listing is cheaper in calls than ceil(n / 10) batches.
MAX_BATCHED_CARDS = 3 * BATCH_LIMIT


class ChangeReader:
    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector
        self.page_size = connector.config.page_size

    @property
    def _board_path(self) -> str:
        return f"/boards/{self.connector.board_id}"

    def card_pages(
        self, before: str | None = None, since: str | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """The board's cards, archived ones included, newest first, one page per call; only
        those with ids between ``since`` and ``before`` (both exclusive) when given."""
        while True:
            params: dict[str, Any] = {
                "filter": "all",
                "fields": mapping.CARD_FIELDS,
                "limit": self.page_size,
            }
            if before:
                params["before"] = before
            if since:
                params["since"] = since
            page: list[dict[str, Any]] = self.connector.client.get(
                f"{self._board_path}/cards", params
            )
            yield page
            if len(page) < self.page_size:
                return
            before = str(page[-1]["id"])

    def fetch(self, cursor: dict[str, Any] | None) -> ChangePage:
        if cursor is None or "cards_before" in cursor:
            return self._first_pass(cursor)
        actions = self._actions_since(cursor.get("action_id"))
        if not actions:
            return ChangePage(items=[], cursor=dict(cursor))
        newest = str(actions[0]["id"])
        deleted: dict[str, RemoteRef] = {}
        changed: list[str] = []
        # Oldest first, so a card created then deleted in the window ends up deleted.
        for action in reversed(actions):
            card = (action.get("data") or {}).get("card") or {}
            card_id = card.get("id")
            if not card_id:
                continue
            if action.get("type") == "deleteCard":
                deleted[card_id] = mapping.card_ref(card)
            elif card_id not in changed:
                changed.append(card_id)
        cards, gone = self._cards([card_id for card_id in changed if card_id not in deleted])
        for card_id in gone:
            deleted.setdefault(card_id, RemoteRef(external_id=card_id))
        return ChangePage(
            items=self._planbridge_items(cards),
            cursor={"action_id": newest},
            deleted=list(deleted.values()),
        )

    def _first_pass(self, cursor: dict[str, Any] | None) -> ChangePage:
        """Every planbridge card, a page at a time; the newest action id becomes the cursor.

        The action id is read before the first card page, so a change made during the pass is read
        again by the next incremental pass rather than lost.
        """
        if cursor is None:
            newest = self.connector.client.get(
                f"{self._board_path}/actions",
                {"filter": ACTION_FILTER, "limit": 1, "fields": "id,date"},
            )
            action_id = str(newest[0]["id"]) if newest else None
            before = None
        else:
            action_id = cursor.get("action_id")
            before = cursor["cards_before"]
        page = next(self.card_pages(before))
        items = self._planbridge_items(page)
        if len(page) < self.page_size:
            return ChangePage(items=items, cursor={"action_id": action_id})
        next_cursor = {"action_id": action_id, "cards_before": str(page[-1]["id"])}
        return ChangePage(items=items, cursor=next_cursor, has_more=True)

    def _actions_since(self, action_id: str | None) -> list[dict[str, Any]]:
        """Every matching action newer than ``action_id``, newest first, paging back.

        All pages are read in one pass: the cursor moves to the newest action, so stopping early
        would skip the older ones for good.
        """
        collected: list[dict[str, Any]] = []
        params: dict[str, Any] = {"filter": ACTION_FILTER, "limit": self.page_size}
        if action_id:
            params["since"] = action_id
        while True:
            page = self.connector.client.get(f"{self._board_path}/actions", params)
            collected.extend(page)
            if len(page) < self.page_size:
                return collected
            params = {**params, "before": str(page[-1]["id"])}

    def _cards(self, card_ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """The cards for ``card_ids`` and the ids Trello proved gone (404)."""
        if not card_ids:
            return [], []
        if len(card_ids) > MAX_BATCHED_CARDS:
            by_id = {str(card["id"]): card for page in self.card_pages() for card in page}
            found = [by_id[card_id] for card_id in card_ids if card_id in by_id]
            return found, [card_id for card_id in card_ids if card_id not in by_id]
        cards: list[dict[str, Any]] = []
        gone: list[str] = []
        for start in range(0, len(card_ids), BATCH_LIMIT):
            chunk = card_ids[start : start + BATCH_LIMIT]
            # Routes are comma-separated, so none carries ?fields=a,b: default card fields suffice.
            answers = self.connector.client.batch([f"/cards/{card_id}" for card_id in chunk])
            for card_id, (status, body) in zip(chunk, answers, strict=True):
                if status == 200 and isinstance(body, dict):
                    cards.append(body)
                elif status == 404:
                    gone.append(card_id)
                else:
                    # Skipping it would move the cursor past a change never read.
                    raise Transient(f"Trello batch answered {status} for card {card_id}")
        return cards, gone

    def _planbridge_items(self, cards: list[dict[str, Any]]) -> list[RemoteItem]:
        return [
            self.connector.to_item(card)
            for card in cards
            if mapping.item_id_from_description(card.get("desc")) is not None
        ]
