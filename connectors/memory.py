"""An in-memory tracker connector (entry point ``memory``) for tests, demos and engine development.

Deterministic: ids count up from 1, timestamps strictly increase, faults fire when switched on (see
``connectors.memory_store.MemoryTracker.inject_fault``). ``base_url`` is ``memory://<store name>``;
the config field ``store_path`` keeps the store in a file, shared by several processes and kept
across restarts (the app sets it to a file beside its SQLite database unless the config names one).
Webhooks are signed ``X-Memory-Signature: sha256=<hex HMAC-SHA256 of the body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from connectors.base import (
    MARKER_LABEL,
    AuthFailed,
    ChangePage,
    ConnectorConfig,
    Invalid,
    ItemSpec,
    NotFound,
    RateLimited,
    RateLimitState,
    RateWindow,
    RemoteHint,
    RemoteItem,
    RemoteRef,
    RemoteStatus,
    Transient,
    marker_text,
)
from connectors.memory_store import FaultRaised, MemoryTracker, StoredItem

PAGE_SIZE = 100
SIGNATURE_HEADER = "x-memory-signature"
DELIVERY_HEADER = "x-memory-delivery"


class MemoryConfig(ConnectorConfig):
    token: SecretStr = SecretStr("good")
    store_path: str | None = None
    marker_lookup_delay_seconds: float = Field(default=0.0, ge=0)
    # Added to every call, like a real tracker's round trip (crash tests need pushes to take time).
    latency_seconds: float = Field(default=0.0, ge=0, le=5)
    # Write limit the engine paces to, as (requests, seconds) pairs.
    write_limits: list[tuple[int, float]] = Field(default_factory=list)


def store_file_name(base_url: str) -> str:
    """The file that keeps ``memory://<name>`` in a store directory: ``<name>.sqlite``, or a
    digest of the name when it is not a plain file name."""
    name = base_url.removeprefix("memory://").strip("/") or "default"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        name = hashlib.sha256(name.encode()).hexdigest()[:32]
    return f"{name}.sqlite"


def tracker_for(config: MemoryConfig) -> MemoryTracker:
    if not config.base_url.startswith("memory://"):
        raise Invalid("base_url of a memory connection must look like memory://<name>")
    return MemoryTracker(config.base_url.removeprefix("memory://").strip("/"), config.store_path)


def webhook_body(stored: StoredItem, event: str = "item.updated") -> bytes:
    return json.dumps({"event": event, "item": _item_payload(stored)}).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _item_payload(stored: StoredItem) -> dict[str, Any]:
    return {
        "id": stored.id,
        "item_id": stored.item_id,
        "kind": stored.kind,
        "title": stored.title,
        "status": stored.status,
        "updated_at": stored.updated_at.isoformat(),
        "deleted": stored.deleted,
        "assignee": stored.assignee,
        # The whole object, as GitHub and Jira send it: a hint is compared field by field.
        "description": _visible_description(stored),
        "due_date": stored.due_date.isoformat() if stored.due_date else None,
    }


def _visible_description(stored: StoredItem) -> str:
    """The description without the marker line, as every connector reports it."""
    if not stored.item_id:
        return stored.description
    return stored.description.replace(marker_text(uuid.UUID(stored.item_id)), "").rstrip()


class MemoryConnector:
    kind: ClassVar[str] = "memory"
    config_model: ClassVar[type[ConnectorConfig]] = MemoryConfig
    write_limits: ClassVar[tuple[RateWindow, ...]] = ()

    def __init__(self, config: MemoryConfig) -> None:
        self.config = config
        self.tracker = tracker_for(config)
        # Per-connection limits from the config shadow the class default (the engine reads the
        # attribute).
        setattr(self, "write_limits", tuple(RateWindow(r, s) for r, s in config.write_limits))  # noqa: B010

    def _call(self, operation: str, *, is_write: bool = False) -> None:
        if self.config.latency_seconds:
            time.sleep(self.config.latency_seconds)
        if self.config.token.get_secret_value() != "good":
            raise AuthFailed("memory tracker refused the token (401)")
        try:
            self.tracker.enter_call(operation, is_write=is_write)
        except FaultRaised as fault:
            raise _error_for(fault) from None

    def _ref(self, stored: StoredItem) -> RemoteRef:
        return RemoteRef(
            str(stored.id), key=f"MEM-{stored.id}", url=f"{self.config.base_url}/items/{stored.id}"
        )

    def _remote(self, stored: StoredItem) -> RemoteItem:
        parent = RemoteRef(stored.parent) if stored.parent else None
        return RemoteItem(
            ref=self._ref(stored),
            title=stored.title,
            status=RemoteStatus(stored.status),
            updated_at=stored.updated_at,
            description=_visible_description(stored),
            raw_status=stored.status,
            assignee=stored.assignee,
            due_date=stored.due_date,
            labels=stored.labels,
            item_id=uuid.UUID(stored.item_id) if stored.item_id else None,
            parent=parent,
            deleted=stored.deleted,
        )

    def check(self) -> None:
        self._call("check")

    def create_item(self, spec: ItemSpec) -> RemoteItem:
        self._call("create", is_write=True)
        try:
            stored = self.tracker.create(
                {
                    "item_id": str(spec.item_id),
                    "kind": spec.kind,
                    "scope": self.config.scope,
                    "title": spec.title,
                    "description": f"{spec.description}\n\n{marker_text(spec.item_id)}",
                    "assignee": spec.assignee,
                    "due_date": spec.due_date.isoformat() if spec.due_date else None,
                    "labels": (MARKER_LABEL, *spec.labels),
                    "parent": spec.parent.external_id if spec.parent else None,
                }
            )
        except FaultRaised as fault:
            raise _error_for(fault) from None
        return self._remote(stored)

    def find_by_marker(
        self, item_id: uuid.UUID, kind: Literal["item", "goal"] = "item"
    ) -> RemoteItem | None:
        self._call("find_by_marker")
        stored = self.tracker.find_marker(item_id, kind, self.config.scope)
        return self._remote(stored) if stored and not stored.deleted else None

    def update_item(self, ref: RemoteRef, spec: ItemSpec, fields: set[str]) -> RemoteItem:
        self._call("update", is_write=True)
        values: dict[str, Any] = {}
        for name in fields:
            if name == "description":
                values["description"] = f"{spec.description}\n\n{marker_text(spec.item_id)}"
            elif name == "due_date":
                values["due_date"] = spec.due_date.isoformat() if spec.due_date else None
            elif name == "labels":
                values["labels"] = (MARKER_LABEL, *spec.labels)
            elif name == "parent":
                values["parent"] = spec.parent.external_id if spec.parent else None
            elif name == "status" and spec.status is not None:
                values["status"] = spec.status.value
            elif name in ("title", "assignee"):
                values[name] = getattr(spec, name)
        stored = self.tracker.update(int(ref.external_id), values)
        if stored is None or stored.deleted:
            raise NotFound(f"memory item {ref.external_id} does not exist")
        return self._remote(stored)

    def fetch_item(self, ref: RemoteRef) -> RemoteItem | None:
        self._call("fetch_item")
        stored = self.tracker.get(int(ref.external_id))
        return None if stored is None or stored.deleted else self._remote(stored)

    def fetch_changes(self, cursor: dict[str, Any] | None) -> ChangePage:
        self._call("fetch_changes")
        since = int((cursor or {}).get("version", 0))
        changed = self.tracker.changed_since(self.config.scope, since, PAGE_SIZE)
        next_version = changed[-1].version if changed else since
        return ChangePage(
            items=[self._remote(s) for s in changed if not s.deleted],
            deleted=[self._ref(s) for s in changed if s.deleted],
            cursor={"version": next_version},
            has_more=len(changed) == PAGE_SIZE,
            not_modified=not changed,
        )

    def marker_lookup_delay(self) -> timedelta:
        return timedelta(seconds=self.config.marker_lookup_delay_seconds)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self.config.webhook_secret
        given = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER, "")
        if secret is None or not given:
            return False
        return hmac.compare_digest(sign(secret.get_secret_value(), body), given)

    def webhook_delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        given = {k.lower(): v for k, v in headers.items()}.get(DELIVERY_HEADER)
        return given or hashlib.sha256(body).hexdigest()

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[RemoteHint]:
        try:
            payload = json.loads(body)
            data = payload["item"]
            ref = RemoteRef(str(data["id"]))
            updated_at = datetime.fromisoformat(data["updated_at"])
            due_date = date.fromisoformat(data["due_date"]) if data.get("due_date") else None
        except (ValueError, KeyError, TypeError) as exc:
            raise Invalid(f"memory webhook body is not understood: {exc}") from exc
        item_id = uuid.UUID(data["item_id"]) if data.get("item_id") else None
        item = RemoteItem(
            ref=ref,
            title=str(data.get("title", "")),
            status=RemoteStatus(data["status"]),
            updated_at=updated_at,
            item_id=item_id,
            assignee=data.get("assignee"),
            description=str(data.get("description") or ""),
            due_date=due_date,
            deleted=bool(data.get("deleted")),
        )
        return [
            RemoteHint(
                event=str(payload.get("event", "item.updated")),
                ref=ref,
                item=item,
                item_id=item_id,
                updated_at=updated_at,
                deleted=item.deleted,
            )
        ]

    def register_webhook(self, callback_url: str) -> str:
        self._call("register_webhook", is_write=True)
        return f"hook-{hashlib.sha256(callback_url.encode()).hexdigest()[:8]}"

    @property
    def rate_limit(self) -> RateLimitState:
        return RateLimitState(limit=None, remaining=None, reset_at=None)

    def close(self) -> None:
        return None


def _error_for(fault: FaultRaised) -> Exception:
    if fault.name == "rate_limit":
        return RateLimited(
            "memory tracker: rate limited (429)", float(fault.options.get("retry_after", 1))
        )
    if fault.name == "auth":
        return AuthFailed("memory tracker refused the credentials (401)")
    if fault.name == "timeout":
        return Transient("memory tracker: read timed out")
    if fault.name == "down":
        return Transient("memory tracker: connection refused")
    if fault.name == "lose_create_response":
        return Transient("memory tracker: connection dropped after the create was sent")
    return Transient("memory tracker: 503 Service Unavailable")
