"""One running Trello emulator: store, clock, limits, faults, webhooks, and a person in the UI."""

from __future__ import annotations

import secrets
from typing import Any

from tests.trackers.faults import EmulatorClock, FaultInjector
from tests.trackers.server import LoopbackServer
from tests.trackers.trello.app import TrelloApp
from tests.trackers.trello.deliveries import WebhookDeliverer
from tests.trackers.trello.limits import TrelloRateLimits
from tests.trackers.trello.store import TrelloStore

DEFAULT_LISTS = ["To Do", "Doing", "Blocked", "Done"]


class TrelloEmulator:
    """A board with the usual lists, a planbridge bot token and a person, served on loopback.

    ``emulator.url`` is the base URL a connector uses (it adds ``/1``).
    """

    def __init__(self, list_names: list[str] | None = None, serve: bool = True) -> None:
        self.clock = EmulatorClock()
        self.store = TrelloStore(self.clock)
        self.faults = FaultInjector()
        self.limits = TrelloRateLimits(self.clock)
        self.deliveries = WebhookDeliverer(self.store)
        self.api_key = secrets.token_hex(16)
        self.app_secret = secrets.token_hex(32)
        self.store.keys[self.api_key] = self.app_secret
        self.bot = self.store.add_member("planbridgebot", "Planbridge Bot")
        self.person = self.store.add_member("ada", "Ada Lovelace")
        self.token = self.store.add_token(self.api_key, self.bot["id"])
        self.person_token = self.store.add_token(self.api_key, self.person["id"])
        self.board = self.store.add_board(
            "Roadmap", list_names or DEFAULT_LISTS, [self.bot["id"], self.person["id"]]
        )
        # (method, path) of every request that reached the app, for benchmarks counting calls.
        self.request_log: list[tuple[str, str]] = []
        self.app = TrelloApp(self)
        self.server = LoopbackServer(self.app).start() if serve else None

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("this emulator is not served")
        return self.server.url

    def close(self) -> None:
        self.deliveries.close()
        if self.server is not None:
            self.server.stop()

    # ---------------------------------------------------------------------------------- auth

    def authenticate(self, api_key: str, token: str) -> str | None:
        """None when key and token are good, else Trello's plain-text 401 body."""
        if api_key not in self.store.keys:
            return "invalid key"
        if not token:
            return "unauthorized permission requested"
        owner = self.store.tokens.get(token)
        if owner is None or owner[0] != api_key:
            return "invalid token"
        return None

    def member_for(self, token: str) -> dict[str, Any]:
        return self.store.members[self.store.tokens[token][1]]

    # ---------------------------------------------------------------------------------- a person

    def list_id(self, name: str) -> str:
        return str(self.store.list_named(self.board["id"], name)["id"])

    def person_moves(self, card_id: str, list_name: str) -> dict[str, Any]:
        return self.store.update_card(self.person, card_id, {"idList": self.list_id(list_name)})

    def person_archives(self, card_id: str, archived: bool = True) -> dict[str, Any]:
        return self.store.update_card(self.person, card_id, {"closed": archived})

    def person_edits(self, card_id: str, **fields: Any) -> dict[str, Any]:
        return self.store.update_card(self.person, card_id, fields)

    def person_deletes(self, card_id: str) -> None:
        self.store.delete_card(self.person, card_id)

    def latest_action_for(self, card_id: str) -> dict[str, Any]:
        with self.store.lock:
            for action in reversed(self.store.actions):
                if (action["data"].get("card") or {}).get("id") == card_id:
                    return action
        raise KeyError(card_id)
