"""The connector interface: plain data in and out, no database, no web framework.

A connector carries planbridge items into one tracker and reads their state back. The sync engine
(``sync/``) owns scheduling, retries, pacing and storage; a connector only speaks the tracker's API
and maps its formats to the data classes below. Built-in and third-party connectors register the
same way, through the entry-point group ``planbridge.connectors`` (docs/connectors.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.addresses import AddressPolicy

MARKER_LABEL = "planbridge"


def marker_text(item_id: uuid.UUID) -> str:
    """The hidden line a created tracker object carries, so it can be found again after a crash."""
    return f"<!-- planbridge:item={item_id} -->"


# ---------------------------------------------------------------------------------------------
# Errors: only Transient and RateLimited are retried by the engine.


class ConnectorError(Exception):
    """Base of every error a connector raises; the message is safe to show (no secrets)."""


class AuthFailed(ConnectorError):
    """Credentials refused (401, or 403 that is not a rate limit): the connection is paused."""


class NotFound(ConnectorError):
    """The target (project, repository, board) or the item does not exist or is not visible."""


class RateLimited(ConnectorError):
    """The tracker asked us to slow down; ``retry_after`` seconds until the next request may go."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(0.0, retry_after)


class Transient(ConnectorError):
    """Timeouts, connection resets, 5xx: worth retrying."""


class Invalid(ConnectorError):
    """The tracker refused the request as malformed (400/422), or the config is wrong: no retry."""


class OutOfScope(ConnectorError):
    """A verified delivery about an object outside the connection's scope (another repository,
    project or board, as one organization webhook or one shared secret sends): never applied."""


class TargetReadOnly(AuthFailed):
    """The target takes no writes at all (an archived GitHub repository): the connection is
    paused like an auth failure, with a reason saying what to change."""


class ObjectMoved(ConnectorError):
    """The object now lives in another scope of the tracker (a GitHub issue transferred to
    another repository); ``scope`` and ``ref`` name it there."""

    def __init__(self, message: str, scope: str, ref: RemoteRef) -> None:
        super().__init__(message)
        self.scope = scope
        self.ref = ref


# ---------------------------------------------------------------------------------------------
# Data


class RemoteStatus(StrEnum):
    """planbridge's status vocabulary, as a connector reports it after mapping."""

    todo = "todo"
    in_progress = "in_progress"
    blocked = "blocked"
    done = "done"
    dropped = "dropped"


@dataclass(frozen=True)
class RemoteRef:
    """Where an object lives in the tracker: its stable id, human key and browser URL."""

    external_id: str
    key: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ItemSpec:
    """What planbridge wants the tracker object to say; ``kind`` "goal" is the goal mirror."""

    item_id: uuid.UUID
    title: str
    description: str = ""
    kind: Literal["item", "goal"] = "item"
    due_date: date | None = None
    estimate_hours: float | None = None
    # The owner's identity for this tracker (accountId, username, login, member id), or None.
    assignee: str | None = None
    labels: tuple[str, ...] = ()
    # The goal mirror this item belongs under (epic, milestone, goal label/card).
    parent: RemoteRef | None = None
    goal_title: str | None = None
    # Only used when "status" is in the update's fields (planbridge asks for a move).
    status: RemoteStatus | None = None


@dataclass(frozen=True)
class RemoteItem:
    """A tracker object as read back, already mapped to planbridge's vocabulary."""

    ref: RemoteRef
    title: str
    status: RemoteStatus
    updated_at: datetime  # timezone-aware
    description: str = ""
    raw_status: str | None = None  # the tracker's own status name, for display and overrides
    assignee: str | None = None
    due_date: date | None = None
    labels: tuple[str, ...] = ()
    item_id: uuid.UUID | None = None  # from the marker, when present
    parent: RemoteRef | None = None
    deleted: bool = False


@dataclass(frozen=True)
class ChangePage:
    """Items changed since a cursor; persist ``cursor`` (JSON) only after storing the items."""

    items: list[RemoteItem]
    cursor: dict[str, Any]
    deleted: list[RemoteRef] = field(default_factory=list)
    has_more: bool = False
    # True when the tracker answered "nothing changed" (e.g. a GitHub 304) at no cost.
    not_modified: bool = False


@dataclass(frozen=True)
class RemoteHint:
    """What a webhook says happened: a hint, applied only if newer than what the engine has."""

    event: str
    ref: RemoteRef | None = None
    item: RemoteItem | None = None  # the full object when the payload carries one
    item_id: uuid.UUID | None = None
    updated_at: datetime | None = None
    deleted: bool = False


@dataclass(frozen=True)
class RateLimitState:
    """The last rate-limit headers seen, for pacing and the health page."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None


@dataclass(frozen=True)
class RateWindow:
    """A documented write limit: at most ``requests`` in ``seconds``."""

    requests: int
    seconds: float


# ---------------------------------------------------------------------------------------------
# Configuration


class ConnectorConfig(BaseModel):
    """Fields every connector config has; each connector extends it. Secrets are SecretStr."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    # Jira project key, GitHub "owner/repo", Trello board id.
    scope: str = Field(min_length=1)
    webhook_secret: SecretStr | None = None
    # Tracker status name (case-insensitive) -> planbridge status, overriding category mapping.
    status_overrides: dict[str, RemoteStatus] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Which addresses requests may reach; the service sets it from its own settings (never from a
    # connection's stored config). Every connector sends through connectors/outbound.py with it.
    address_policy: AddressPolicy = Field(default_factory=AddressPolicy, exclude=True)


# ---------------------------------------------------------------------------------------------
# The interface


@runtime_checkable
class Connector(Protocol):
    kind: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]
    # Write limits the engine paces to (empty: honour 429 answers only).
    write_limits: ClassVar[tuple[RateWindow, ...]]

    def check(self) -> None:
        """Prove credentials and target are good, or raise a ConnectorError saying what is wrong."""

    def create_item(self, spec: ItemSpec) -> RemoteItem:
        """Create the object carrying the marker for ``spec.item_id``; exactly one write."""

    def find_by_marker(
        self, item_id: uuid.UUID, kind: Literal["item", "goal"] = "item"
    ) -> RemoteItem | None:
        """The object made for ``item_id``, if its create reached the tracker; consistent read."""

    def update_item(self, ref: RemoteRef, spec: ItemSpec, fields: set[str]) -> RemoteItem:
        """Write only ``fields``.

        Any of: title, description, due_date, estimate_hours, assignee, labels, parent, status.
        """

    def fetch_item(self, ref: RemoteRef) -> RemoteItem | None:
        """The object now, or None when a successful answer proves it is gone."""

    def fetch_changes(self, cursor: dict[str, Any] | None) -> ChangePage:
        """Objects changed since ``cursor`` (None: everything planbridge created); one page."""

    def marker_lookup_delay(self) -> timedelta:
        """How long after an uncertain create ``find_by_marker`` can be trusted (index lag)."""

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Signature check in constant time; False for a missing or wrong signature."""

    def webhook_delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        """The id that makes a redelivery recognisable (header, action id, or a body hash)."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[RemoteHint]:
        """Hints from a verified delivery; events planbridge does not use give an empty list.

        Raises ``OutOfScope`` for a delivery about another repository, project or board, and
        ``Invalid`` for a body it cannot use (any malformed field), never another exception.
        """

    def register_webhook(self, callback_url: str) -> str:
        """Register the webhook where the tracker's API allows; returns the tracker's hook id."""

    @property
    def rate_limit(self) -> RateLimitState:
        """The last rate-limit headers seen."""

    def close(self) -> None:
        """Release HTTP sessions."""


class RequestPacer(Protocol):
    """Paces every request of one tracker credential: ``acquire`` before sending (it may wait
    for a slot), ``settle`` with what it returned once the answer (or the failure) arrived."""

    def acquire(self) -> object: ...

    def settle(self, slot: object) -> None: ...


@runtime_checkable
class RequestPacedConnector(Protocol):
    """Optional capability: a tracker that counts every request of a credential, reads included.

    Trello limits each token to 100 requests per 10 s whatever they are. Such a connector paces
    its own requests with the pacer it is given (its default is an in-process one); the engine
    hands it a pacer backed by the database log shared by every worker, keyed by
    ``request_budget()``, so connections that share a token share one budget.
    """

    def request_budget(self) -> tuple[str, tuple[RateWindow, ...]]:
        """A key naming the credential's budget (no secret in it) and the budget's windows."""

    def use_request_pacer(self, pacer: RequestPacer) -> None:
        """Pace every later request through ``pacer``."""


@runtime_checkable
class ScopeLearningConnector(Protocol):
    """Optional capability: ``check()`` learns what identifies the target beyond its name.

    GitHub: the repository id, which a rename or a transfer keeps; webhook deliveries are matched
    to the connection by it. The values are stored in the connection's config after a check.
    """

    def learned_config(self) -> dict[str, Any]:
        """Config values the last successful ``check()`` learned (empty before one)."""


@dataclass(frozen=True)
class AuditResult:
    """What one audit read saw of the objects it was asked about.

    ``found``: objects read back (whatever changed). ``unchanged``: objects the tracker said have
    not changed since ``validators`` (a GitHub 304, free). ``missing``: objects the read did not
    return (404/410, or absent from a search): the engine tombstones one only after ``fetch_item``
    proves it gone. An object in none of the three (an error for it alone) is simply not audited.
    ``validators``: what to send for an object next time (GitHub ETags), by external id.
    """

    found: list[RemoteItem] = field(default_factory=list)
    unchanged: list[RemoteRef] = field(default_factory=list)
    missing: list[RemoteRef] = field(default_factory=list)
    validators: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class AuditingConnector(Protocol):
    """Optional capability: re-read given objects with the tracker's cheapest read.

    The engine audits every link about once a day (sync/audit.py) so that what webhooks and the
    change poll cannot show is still noticed: an object deleted there, or one that left the poll's
    filter (a GitHub issue whose planbridge label was removed, then closed). ``audit_batch_size``
    objects cost one request (Jira's ``key in`` search of 100, Trello's board listing of a range of
    100 card ids) or,
    for GitHub, one conditional request each that is free when it answers 304.
    """

    audit_batch_size: ClassVar[int]

    def audit(self, refs: list[RemoteRef], validators: Mapping[str, str]) -> AuditResult:
        """Read ``refs`` (at most ``audit_batch_size``); ``validators`` by external id."""


@runtime_checkable
class CommentingConnector(Protocol):
    """Optional capability: a connector that can comment on the objects it created.

    The engine checks it with ``isinstance`` before posting a weekly review on a goal's mirror;
    a connector without it (GitHub, whose milestones take no comments) is simply skipped.
    """

    def add_comment(self, ref: RemoteRef, markdown: str) -> None:
        """Post ``markdown`` (converted to the tracker's format) as one comment on ``ref``."""
