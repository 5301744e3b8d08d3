"""Trello connector: action items as cards on one board (https://developer.atlassian.com/cloud/trello/rest/)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx

from connectors.base import (
    AuditResult,
    ChangePage,
    Invalid,
    ItemSpec,
    NotFound,
    RateLimitState,
    RateWindow,
    RemoteHint,
    RemoteItem,
    RemoteRef,
    RemoteStatus,
    RequestPacer,
)
from connectors.outbound import GuardedTransport, json_shape
from connectors.trello import mapping
from connectors.trello.audit import audit_cards
from connectors.trello.changes import ChangeReader
from connectors.trello.client import TrelloClient, make_pacer
from connectors.trello.config import TrelloConfig
from connectors.trello.webhooks import is_signed_by, load_action, parse_hints

COMMENT_LIMIT = 16384


class TrelloConnector:
    kind: ClassVar[str] = "trello"
    config_model: ClassVar[type[TrelloConfig]] = TrelloConfig
    # Shown on the health page; the engine paces every request (reads too) by request_budget().
    write_limits: ClassVar[tuple[RateWindow, ...]] = (RateWindow(100, 10),)
    # An audit slice: 100 cards, read in one board listing by id range (connectors/trello/audit.py).
    audit_batch_size: ClassVar[int] = 100

    def __init__(
        self,
        config: TrelloConfig,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        pacer = make_pacer(config.requests_per_window, config.window_seconds, clock, sleep)
        self.client = TrelloClient(
            config.base_url,
            config.api_key.get_secret_value(),
            config.api_token.get_secret_value(),
            config.timeout_seconds,
            pacer,
            transport=transport or GuardedTransport(config.address_policy),
            window_seconds=config.window_seconds,
        )
        self.board_id = config.scope
        self._callback_url = config.callback_url
        self._list_names: dict[str, str] = {}  # list id -> name, archived lists included
        self._list_ids: dict[RemoteStatus, str] = {}  # status -> open list id
        self._label_ids: dict[str, str] = {}  # label name (casefolded) -> id
        self._labels_loaded = False
        self.changes = ChangeReader(self)

    # ---------------------------------------------------------------------------------- board

    def check(self) -> None:
        """Load the board with its lists; Invalid naming every mapped list the board lacks."""
        board = self.client.get(
            f"/boards/{self.board_id}",
            {"fields": "id,name,closed", "lists": "all", "list_fields": "id,name,closed"},
        )
        if not isinstance(board, dict) or not isinstance(board.get("lists"), list):
            found = "an empty body" if board is None else f"{json_shape(board)}, not a board"
            raise Invalid(
                f"GET /1/boards/{self.board_id} answered {found}; is this the Trello API address?"
            )
        if board.get("closed"):
            raise Invalid(f"Trello board '{board.get('name')}' is closed")
        if not all(
            isinstance(entry, dict) and {"id", "name"} <= entry.keys() for entry in board["lists"]
        ):
            raise Invalid(
                f"GET /1/boards/{self.board_id} answered lists without ids and names; "
                "is this the Trello API address?"
            )
        self._remember_lists(board.get("lists") or [])
        _, missing = mapping.list_ids_by_status(board.get("lists") or [], self.config.list_names)
        if missing:
            names = ", ".join(f"'{name}'" for name in missing)
            raise Invalid(f"Trello board '{board.get('name')}' has no open list named {names}")

    def _remember_lists(self, lists: list[Mapping[str, Any]]) -> None:
        self._list_names = {str(item["id"]): str(item["name"]) for item in lists}
        self._list_ids, _ = mapping.list_ids_by_status(lists, self.config.list_names)

    def _load_lists(self) -> None:
        lists = self.client.get(
            f"/boards/{self.board_id}/lists", {"filter": "all", "fields": "id,name,closed"}
        )
        self._remember_lists(lists)

    def _list_for(self, status: RemoteStatus) -> str:
        if status not in self._list_ids:
            self._load_lists()
        list_id = self._list_ids.get(status)
        if list_id is None:
            wanted = self.config.list_names.get(status)
            raise Invalid(
                f"no Trello list for status '{status.value}'"
                + (f" (expected an open list named '{wanted}')" if wanted else "")
            )
        return list_id

    def _list_name(self, list_id: str | None) -> str | None:
        if list_id and list_id not in self._list_names:
            self._load_lists()  # a person added a list since we last looked
        return self._list_names.get(list_id or "")

    def _label_id(self, name: str) -> str:
        """Find-or-create the board label ``name``; cached so a create stays one write per card."""
        if not self._labels_loaded:
            labels = self.client.get(
                f"/boards/{self.board_id}/labels", {"fields": "id,name", "limit": 1000}
            )
            for label in labels:
                self._label_ids.setdefault(
                    str(label.get("name") or "").casefold(), str(label["id"])
                )
            self._labels_loaded = True
        key = name.casefold()
        if key not in self._label_ids:
            created = self.client.post(
                "/labels", {"name": name, "color": None, "idBoard": self.board_id}
            )
            self._label_ids[key] = str(created["id"])
        return self._label_ids[key]

    def _label_ids_for(self, spec: ItemSpec) -> list[str]:
        names = [*([spec.goal_title] if spec.goal_title else []), *spec.labels]
        return list(dict.fromkeys(self._label_id(name) for name in names if name.strip()))

    # ---------------------------------------------------------------------------------- cards

    def to_item(self, card: Mapping[str, Any]) -> RemoteItem:
        list_name = self._list_name(card.get("idList"))
        status = mapping.card_status(
            card,
            list_name,
            self.config.list_names,
            self.config.status_overrides,
            self.config.due_complete_means_done,
        )
        members = card.get("idMembers") or []
        description = str(card.get("desc") or "")
        updated = mapping.parse_trello_datetime(card.get("dateLastActivity")) or datetime.now(UTC)
        return RemoteItem(
            ref=mapping.card_ref(card),
            title=str(card.get("name") or ""),
            status=status,
            updated_at=updated,
            description=mapping.strip_marker(description),
            raw_status=("archived in " if card.get("closed") else "")
            + (list_name or "unknown list"),
            assignee=members[0] if members else None,
            due_date=mapping.due_from_trello(card.get("due")),
            labels=tuple(
                str(label.get("name")) for label in card.get("labels") or [] if label.get("name")
            ),
            item_id=mapping.item_id_from_description(description),
        )

    def _fields_for(self, spec: ItemSpec, fields: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "title" in fields:
            body["name"] = spec.title
        if "description" in fields:
            body["desc"] = mapping.description_with_marker(spec.description, spec.item_id)
            if len(body["desc"]) > mapping.MAX_DESCRIPTION_LENGTH:
                raise Invalid(
                    f"description longer than Trello's {mapping.MAX_DESCRIPTION_LENGTH} characters"
                )
        if "due_date" in fields:
            body["due"] = mapping.due_to_trello(spec.due_date)
        if "assignee" in fields:
            body["idMembers"] = spec.assignee or ""
        if fields & {"labels", "parent"}:
            body["idLabels"] = ",".join(self._label_ids_for(spec))
        if "status" in fields and spec.status is not None:
            if spec.status is RemoteStatus.dropped:
                body["closed"] = True
            else:
                body["idList"] = self._list_for(spec.status)
                body["closed"] = False
                if spec.status is not RemoteStatus.done and self.config.due_complete_means_done:
                    body["dueComplete"] = False
        return body

    def create_item(self, spec: ItemSpec) -> RemoteItem:
        status = (
            spec.status if spec.status not in (None, RemoteStatus.dropped) else RemoteStatus.todo
        )
        body = self._fields_for(spec, {"title", "description", "due_date", "assignee", "labels"})
        body["idList"] = self._list_for(status)
        body["pos"] = "bottom"
        card = self.client.post("/cards", body)
        return self.to_item(card)

    def add_comment(self, ref: RemoteRef, markdown: str) -> None:
        """A comment on the card (a goal mirror is a card too); Trello renders Markdown itself."""
        # Trello caps a comment at 16384 characters; a longer review is cut rather than refused.
        # ``text`` goes in the JSON body (Trello reads parameters from either): it is too long for
        # a URL.
        self.client.post(
            f"/cards/{ref.external_id}/actions/comments", {"text": markdown[:COMMENT_LIMIT]}
        )

    def find_by_marker(
        self, item_id: uuid.UUID, kind: Literal["item", "goal"] = "item"
    ) -> RemoteItem | None:
        """Scan the board's cards, archived ones included, for the marker.

        Trello's search is index-backed and lags, so this reads the board's card list (consistent),
        newest card first: the card of a create whose answer was lost is on the first page, so the
        usual cost is one call; a miss reads every page (board size / page size calls).
        """
        for page in self.changes.card_pages():
            found = [
                card
                for card in page
                if mapping.item_id_from_description(card.get("desc")) == item_id
            ]
            if found:
                # Two cards for one item would be a bug elsewhere; the oldest is the original.
                return self.to_item(min(found, key=lambda card: str(card["id"])))
        return None

    def update_item(self, ref: RemoteRef, spec: ItemSpec, fields: set[str]) -> RemoteItem:
        body = self._fields_for(spec, fields)
        if not body:
            # Nothing Trello can hold changed (an estimate has no card field): no write.
            item = self.fetch_item(ref)
            if item is None:
                raise NotFound(f"Trello card {ref.external_id} is gone")
            return item
        card = self.client.put(f"/cards/{ref.external_id}", body)
        return self.to_item(card)

    def fetch_item(self, ref: RemoteRef) -> RemoteItem | None:
        if not mapping.TRELLO_ID.match(ref.external_id):
            return None  # not a card id at all: no card can have it
        try:
            card = self.client.get(f"/cards/{ref.external_id}", {"fields": mapping.CARD_FIELDS})
        except NotFound:
            return None
        return self.to_item(card)

    def fetch_changes(self, cursor: dict[str, Any] | None) -> ChangePage:
        return self.changes.fetch(cursor)

    def audit(self, refs: list[RemoteRef], validators: Mapping[str, str]) -> AuditResult:
        """The cards of ``refs`` through the board's card listing over their id range, the
        ones a crowded range leaves through ``/1/batch`` (connectors/trello/audit.py)."""
        return audit_cards(self, refs)

    def marker_lookup_delay(self) -> timedelta:
        return timedelta(0)  # the board's card list is read from the primary store, no index lag

    # ---------------------------------------------------------------------------------- webhooks

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self.config.webhook_secret
        if secret is None or not self._callback_url:
            return False
        return is_signed_by(headers, body, secret.get_secret_value(), self._callback_url)

    def webhook_delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        action = load_action(body)
        if action is None or not action.get("id"):
            raise Invalid("Trello delivery without an action id")
        return str(action["id"])

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[RemoteHint]:
        action = load_action(body)
        if action is None:
            raise Invalid("the delivery carries no Trello action")
        return parse_hints(action, self.board_id)

    def register_webhook(self, callback_url: str) -> str:
        """POST /1/webhooks on the board; Trello HEADs ``callback_url`` and needs a 200."""
        hook = self.client.post(
            "/webhooks",
            {"callbackURL": callback_url, "idModel": self.board_id, "description": "planbridge"},
        )
        # Signatures cover the callback URL exactly as registered: keep the very string.
        self._callback_url = callback_url
        return str(hook["id"])

    def request_budget(self) -> tuple[str, tuple[RateWindow, ...]]:
        """Trello counts every request per token: the budget is named by a hash of the token."""
        host = httpx.URL(self.config.base_url).host
        token = self.config.api_token.get_secret_value()
        digest = hashlib.sha256(f"{host}\n{token}".encode()).hexdigest()[:32]
        window = RateWindow(self.config.requests_per_window, self.config.window_seconds)
        return f"trello-token:{digest}", (window,)

    def use_request_pacer(self, pacer: RequestPacer) -> None:
        self.client.pacer = pacer

    @property
    def rate_limit(self) -> RateLimitState:
        return self.client.rate_limit

    def close(self) -> None:
        self.client.close()
