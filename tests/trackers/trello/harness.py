"""The Trello emulator behind the contract suite's TrackerHarness (tests/contract/harness.py)."""

from __future__ import annotations

import uuid
from typing import Any

from connectors.base import RemoteRef, RemoteStatus
from connectors.trello import TrelloConfig, TrelloConnector
from connectors.trello.config import DEFAULT_LIST_NAMES
from connectors.trello.mapping import description_with_marker, item_id_from_description
from tests.trackers.server import EMULATOR_ADDRESSES
from tests.trackers.trello.emulator import TrelloEmulator

CALLBACK_URL = "https://planbridge.example/webhooks/trello?connection=7"
# Small enough that the contract suite's 250 objects span several pages.
PAGE_SIZE = 100


class TrelloHarness:
    name = "trello"

    def __init__(self, list_names: list[str] | None = None) -> None:
        self.emulator = TrelloEmulator(list_names=list_names)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "base_url": self.emulator.url,
            "scope": self.emulator.board["id"],
            "api_key": self.emulator.api_key,
            "api_token": self.emulator.token,
            "webhook_secret": self.emulator.app_secret,
            "callback_url": CALLBACK_URL,
            "page_size": PAGE_SIZE,
            "timeout_seconds": 5,
        }
        values.update(overrides)
        return values

    def connector(self, **overrides: Any) -> TrelloConnector:
        # The connector paces on the emulator clock: waiting out a window moves that clock on.
        return TrelloConnector(
            TrelloConfig.model_validate(
                {"address_policy": EMULATOR_ADDRESSES, **self.settings(**overrides)}
            ),
            clock=self.emulator.clock.timestamp,
            sleep=self.emulator.clock.advance,
        )

    def connector_with_bad_credentials(self) -> TrelloConnector:
        return self.connector(api_token="0" * 64)

    def person_sets_status(self, ref: RemoteRef, status: RemoteStatus) -> None:
        if status is RemoteStatus.dropped:
            self.emulator.person_archives(ref.external_id)
            return
        card = self.emulator.store.card(ref.external_id)
        if card["closed"]:
            self.emulator.person_archives(ref.external_id, archived=False)
        self.emulator.person_moves(ref.external_id, DEFAULT_LIST_NAMES[status])

    def person_edits_title(self, ref: RemoteRef, title: str) -> None:
        self.emulator.person_edits(ref.external_id, name=title)

    def inject_fault(self, fault: str, count: int = 1, **options: Any) -> None:
        self.emulator.faults.inject(fault, count, **options)

    def object_count(self) -> int:
        with self.emulator.store.lock:
            return sum(
                1
                for card in self.emulator.store.cards.values()
                if item_id_from_description(card["desc"]) is not None
            )

    def seed_items(self, count: int) -> list[RemoteRef]:
        """Cards as the connector creates them (marker line last), written straight to the store."""
        todo = self.emulator.list_id(DEFAULT_LIST_NAMES[RemoteStatus.todo])
        refs = []
        for number in range(count):
            card = self.emulator.store.create_card(
                self.emulator.bot,
                {
                    "idList": todo,
                    "name": f"Seeded item {number}",
                    "desc": description_with_marker("Seeded by the harness.", uuid.uuid4()),
                },
            )
            refs.append(RemoteRef(card["id"], key=card["shortLink"], url=card["shortUrl"]))
        return refs

    def signed_webhook_for(self, ref: RemoteRef) -> tuple[dict[str, str], bytes]:
        store = self.emulator.store
        webhook = next(
            (hook for hook in store.webhooks.values() if hook["callbackURL"] == CALLBACK_URL), None
        )
        if webhook is None:
            self.emulator.deliveries.add(
                self.emulator.token, CALLBACK_URL, self.emulator.board["id"], "planbridge"
            )
            webhook = next(
                hook for hook in store.webhooks.values() if hook["callbackURL"] == CALLBACK_URL
            )
        action = self.emulator.latest_action_for(ref.external_id)
        return self.emulator.deliveries.signed_delivery(webhook, action)

    def advance_clock(self, seconds: float) -> None:
        self.emulator.clock.advance(seconds)

    def close(self) -> None:
        self.emulator.close()
