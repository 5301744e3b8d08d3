"""The Jira connector (Cloud REST v3 and Data Center REST v2), over the ``jira`` library.

https://developer.atlassian.com/cloud/jira/platform/rest/v3/ ; Data Center (REST v2) differs in
auth and the epic link (config.py), user identity (mapping.py) and description format (adf.py).
One kind, ``jira``; the flavour comes from ``deployment`` in the config.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from connectors.base import (
    MARKER_LABEL,
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
)
from connectors.jira import webhooks
from connectors.jira.adf import normalize_markdown
from connectors.jira.client import MAX_RECONCILE_ISSUES, JiraClient
from connectors.jira.config import JiraConfig
from connectors.jira.issues import (
    EDITABLE,
    browse_url,
    create_fields,
    description_value,
    remote_item,
    requested_fields,
    spec_fields,
)
from connectors.jira.mapping import (
    DROPPED_LABEL,
    STATUS_CATEGORY,
    choose_transition,
    floor_to_minute,
    issue_labels,
    jql_datetime,
    marker_label,
    override_name_for,
    parse_jira_datetime,
    screen_offers_resolution,
)
from connectors.outbound import json_shape

# "Updated" of a just-created issue: older than any time Jira can report, so whatever Jira says
# about the issue next is applied.
UNKNOWN_UPDATE_TIME = datetime(1970, 1, 1, tzinfo=UTC)


class JiraConnector:
    kind: ClassVar[str] = "jira"
    config_model: ClassVar[type[JiraConfig]] = JiraConfig
    # Jira publishes no fixed write quota for API-token traffic: honour 429 + Retry-After only.
    write_limits: ClassVar[tuple[RateWindow, ...]] = ()

    def __init__(self, config: JiraConfig) -> None:
        self.config = config
        self._client = JiraClient(config)
        self._time_zone = config.time_zone
        # Ids of the issues this connector wrote last: Cloud's search shows them at once when
        # named in reconcileIssues, though its index lags every other write.
        self._written: deque[str] = deque(maxlen=MAX_RECONCILE_ISSUES)

    def _wrote(self, issue_id: str) -> None:
        if issue_id in self._written:
            self._written.remove(issue_id)
        self._written.append(issue_id)

    # -- setup ---------------------------------------------------------------------------------

    def check(self) -> None:
        deployment = self._client.deployment_type
        if self.config.is_cloud != (deployment == "Cloud"):
            raise Invalid(
                f"deployment: configured '{self.config.deployment}' "
                f"but the server says '{deployment}'"
            )
        myself = self._client.myself()
        if not isinstance(myself, dict):
            raise Invalid(f"GET myself answered {json_shape(myself)}; is this Jira?")
        self._remember_time_zone(myself)
        project = self._client.project(self.config.scope)
        if not isinstance(project, dict) or "key" not in project:
            raise Invalid(
                f"GET project/{self.config.scope} answered {json_shape(project)} "
                "without a project key; is this Jira?"
            )

    def _remember_time_zone(self, myself: Mapping[str, Any]) -> str:
        if self._time_zone is None:
            self._time_zone = str(myself.get("timeZone") or "UTC")
        return self._time_zone

    def _user_time_zone(self) -> str:
        # JQL reads date literals in the searching user's zone; ask once per connector.
        if self._time_zone is None:
            return self._remember_time_zone(self._client.myself())
        return self._time_zone

    # -- writes --------------------------------------------------------------------------------

    def create_item(self, spec: ItemSpec) -> RemoteItem:
        created = self._client.create_issue(create_fields(self.config, spec))
        key = str(created["key"])
        self._wrote(str(created["id"]))
        # The create answer holds only {id, key, self}; the rest is what was sent. Reading the issue
        # back would cost a second request, and a new issue sits in its workflow's initial status.
        # Jira's own time of the create is unknown: our clock would be a guess that, ahead of
        # Jira's, makes a person's (or an automation's) first move look older and be ignored.
        return RemoteItem(
            ref=RemoteRef(str(created["id"]), key, browse_url(self.config, key)),
            title=spec.title,
            status=RemoteStatus.todo,
            updated_at=UNKNOWN_UPDATE_TIME,
            description=normalize_markdown(spec.description),
            assignee=spec.assignee,
            due_date=spec.due_date,
            labels=tuple(
                label
                for label in issue_labels(spec.item_id, spec.labels)
                if label != MARKER_LABEL and label != marker_label(spec.item_id)
            ),
            item_id=spec.item_id,
            parent=spec.parent if spec.kind == "item" else None,
        )

    def update_item(self, ref: RemoteRef, spec: ItemSpec, fields: set[str]) -> RemoteItem:
        unknown = fields - EDITABLE - {"status"}
        if unknown:
            raise Invalid(f"fields: cannot write {', '.join(sorted(unknown))} to Jira")
        edit = spec_fields(self.config, spec, fields & EDITABLE)
        self._wrote(ref.external_id)
        if edit:
            self._client.edit_issue(ref.external_id, edit)
        if "status" in fields and spec.status is not None:
            self._move(ref, spec.status)
        current = self.fetch_item(ref)
        if current is None:
            raise NotFound(f"Jira issue {ref.key or ref.external_id} is gone")
        return current

    def add_comment(self, ref: RemoteRef, markdown: str) -> None:
        """One comment on the issue: ADF on Cloud (v3), wiki markup on Data Center (v2)."""
        body = description_value(self.config, markdown)
        if body is None:
            raise Invalid("comment: the text is empty")
        self._client.add_comment(ref.key or ref.external_id, body)

    def _move(self, ref: RemoteRef, target: RemoteStatus) -> None:
        """Transition chosen by the target's status category (names differ per workflow).

        "dropped" sends its resolution (e.g. "Won't Do") only through a transition whose screen
        holds the resolution field: Jira refuses a field that is not on the screen. Without one,
        the issue gets ``DROPPED_LABEL`` first and then moves to a done status as it is.
        """
        issue = self._client.issue(ref.external_id, requested_fields(self.config))
        now = remote_item(self.config, issue)
        fields = issue.get("fields") or {}
        labels = [label for label in fields.get("labels") or [] if label != DROPPED_LABEL]
        if now.status == target:
            return
        if len(labels) < len(fields.get("labels") or []) and target is not RemoteStatus.dropped:
            # Off before the move, so the issue never reads "dropped" in its new status.
            self._client.edit_issue(ref.external_id, {}, {"labels": [{"remove": DROPPED_LABEL}]})
            unlabelled = {**issue, "fields": {**fields, "labels": labels}}
            if remote_item(self.config, unlabelled).status == target:
                return  # dropped -> done: already in a done status
        transitions = self._client.transitions(ref.external_id)
        # A status of its own says it (an override); the resolution is then the workflow's.
        named = override_name_for(self.config.status_overrides, target) is not None
        resolution = None if named else override_name_for(self.config.resolution_overrides, target)
        transition = None
        if resolution is not None:
            with_screen = [t for t in transitions if screen_offers_resolution(t, resolution)]
            transition = choose_transition(with_screen, target, self.config.status_overrides)
        transition_fields: dict[str, Any] = {}
        if transition is not None and resolution is not None:
            transition_fields["resolution"] = {"name": resolution}
        else:
            transition = choose_transition(transitions, target, self.config.status_overrides)
        labelled = target is RemoteStatus.dropped and not transition_fields and not named
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        if transition is None and labelled and category == STATUS_CATEGORY[target]:
            # done -> dropped with no resolution screen to pass through: the label says it.
            self._client.edit_issue(ref.external_id, {}, {"labels": [{"add": DROPPED_LABEL}]})
            return
        if transition is None:
            raise Invalid(
                f"status: no transition from '{now.raw_status}' into category "
                f"'{STATUS_CATEGORY[target]}' for {ref.key or ref.external_id}"
            )
        if labelled:
            self._client.edit_issue(ref.external_id, {}, {"labels": [{"add": DROPPED_LABEL}]})
        self._client.transition(ref.external_id, str(transition["id"]), transition_fields)

    # -- reads ---------------------------------------------------------------------------------

    def fetch_item(self, ref: RemoteRef) -> RemoteItem | None:
        try:
            issue = self._client.issue(ref.external_id, requested_fields(self.config))
        except NotFound:
            return None
        return remote_item(self.config, issue)

    # An audit batch: one ``key in (...)`` search returns up to 100 issues.
    audit_batch_size: ClassVar[int] = 100

    def audit(self, refs: list[RemoteRef], validators: Mapping[str, str]) -> AuditResult:
        """One ``key in (...)`` search; an issue it does not return is missing (the engine then
        asks for it alone, and only that GET's 404 proves it gone: the search index lags)."""
        by_key = {ref.key or ref.external_id: ref for ref in refs}
        if not by_key:
            return AuditResult()
        jql = f"key in ({', '.join(by_key)})"
        try:
            issues, _ = self._client.search(jql, requested_fields(self.config), len(by_key), None)
        except Invalid as error:
            # Jira refuses a key list naming an issue that no longer exists, and names it.
            named = [key for key in by_key if f"'{key}'" in str(error)]
            if not named:
                raise
            rest = self.audit([ref for key, ref in by_key.items() if key not in named], validators)
            gone = [by_key[key] for key in named]
            return AuditResult(found=rest.found, missing=[*rest.missing, *gone])
        found = [remote_item(self.config, issue) for issue in issues]
        returned = {item.ref.external_id for item in found} | {item.ref.key for item in found}
        missing = [ref for ref in refs if not {ref.external_id, ref.key} & returned]
        return AuditResult(found=found, missing=missing)

    def find_by_marker(
        self, item_id: uuid.UUID, kind: Literal["item", "goal"] = "item"
    ) -> RemoteItem | None:
        """Search by the marker label; trust a miss only after ``marker_lookup_delay()``.

        The issues this connector wrote go in ``reconcileIssues`` (Cloud): one whose create
        answered before the engine lost track of it is found at once. A create whose answer never
        came leaves no id to name, so its lookup still waits out the index lag.
        """
        jql = (
            f'project = "{self.config.scope}" AND labels = "{marker_label(item_id)}" '
            "ORDER BY created ASC"
        )
        issues, _ = self._client.search(
            jql, requested_fields(self.config), 1, None, reconcile=list(self._written)
        )
        return remote_item(self.config, issues[0]) if issues else None

    def marker_lookup_delay(self) -> timedelta:
        return timedelta(seconds=self.config.effective_index_lag_seconds)

    def fetch_changes(self, cursor: dict[str, Any] | None) -> ChangePage:
        """Issues updated since the cursor, oldest first, one page.

        JQL compares at minute resolution and the index lags writes, so a pass re-reads from
        ``settled``: a minute before which every change has been returned. A pass moves it to
        the first page's ``Date`` (Jira's clock) minus the lookback, which exceeds the index lag,
        so a minute where many issues changed is re-read only until it settles; then a quiet poll
        is one request that returns nothing. (key, updated) pairs already returned are dropped.
        """
        state = cursor or {}
        settled = self._settled(state)
        jql = state.get("jql") or self._changes_jql(settled)
        issues, next_page = self._client.search(
            jql, requested_fields(self.config), self.config.page_size, state.get("page")
        )
        asked_at = state.get("asked_at")
        if state.get("page") is None and self._client.server_time is not None:
            asked_at = self._client.server_time.isoformat()
        seen = {(str(key), str(stamp)) for key, stamp in state.get("seen") or []}
        items: list[RemoteItem] = []
        newest: datetime | None = None
        for issue in issues:
            stamp = str((issue.get("fields") or {}).get("updated"))
            identity = (str(issue.get("key")), stamp)
            if identity in seen:
                continue
            seen.add(identity)
            item = remote_item(self.config, issue)
            items.append(item)
            newest = item.updated_at if newest is None else max(newest, item.updated_at)
        if next_page is not None:
            # Mid-pass: the same query, window and returned pairs until its last page.
            next_cursor: dict[str, Any] = {
                "settled": settled.isoformat() if settled else None,
                "asked_at": asked_at,
                "seen": sorted([list(pair) for pair in seen]),
                "jql": jql,
                "page": next_page,
            }
            return ChangePage(items=items, cursor=next_cursor, has_more=True)
        # Where the next pass starts. Without a Date header, the newest change returned stands in
        # for Jira's clock. Pairs older than it cannot come back: an issue that changes again
        # comes back with a new ``updated``.
        clock = datetime.fromisoformat(asked_at) if asked_at else newest
        if clock is not None:
            moved = floor_to_minute(clock - timedelta(seconds=self.config.lookback_seconds))
            settled = moved if settled is None else max(settled, moved)
        kept = [
            list(pair)
            for pair in sorted(seen)
            if settled is None or parse_jira_datetime(pair[1]) >= settled
        ]
        next_cursor = {"settled": settled.isoformat() if settled else None, "seen": kept}
        return ChangePage(items=items, cursor=next_cursor, has_more=False)

    def _settled(self, state: Mapping[str, Any]) -> datetime | None:
        if state.get("settled"):
            return datetime.fromisoformat(str(state["settled"]))
        if state.get("updated"):  # a cursor written before "settled" existed
            since = parse_jira_datetime(str(state["updated"]))
            return floor_to_minute(since - timedelta(seconds=self.config.lookback_seconds))
        return None

    def _changes_jql(self, settled: datetime | None) -> str:
        clauses = [f'project = "{self.config.scope}"', f"labels = {MARKER_LABEL}"]
        if settled is not None:
            clauses.append(f'updated >= "{jql_datetime(settled, self._user_time_zone())}"')
        return " AND ".join(clauses) + " ORDER BY updated ASC"

    # -- webhooks ------------------------------------------------------------------------------

    def _secret(self) -> str | None:
        secret = self.config.webhook_secret
        return secret.get_secret_value() if secret is not None else None

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.verify_signature(self._secret(), headers, body)

    def webhook_delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        return webhooks.delivery_id(headers, body)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[RemoteHint]:
        return webhooks.parse(self.config, body)

    def register_webhook(self, callback_url: str) -> str:
        """An admin webhook (needs a Jira administrator's credentials) signed with our secret."""
        secret = self._secret()
        if not secret:
            raise Invalid("webhook_secret: required to register a signed Jira webhook")
        created = self._client.register_webhook(
            {
                "name": f"planbridge {self.config.scope}",
                "url": callback_url,
                "events": sorted(webhooks.ISSUE_EVENTS),
                "filters": {
                    "issue-related-events-section": (
                        f'project = "{self.config.scope}" AND labels = {MARKER_LABEL}'
                    )
                },
                "excludeBody": False,
                "secret": secret,
            }
        )
        location = str(created.get("self") or created.get("id") or "")
        return location.rstrip("/").rsplit("/", 1)[-1]

    # -- housekeeping --------------------------------------------------------------------------

    @property
    def rate_limit(self) -> RateLimitState:
        return self._client.rate_limit

    def close(self) -> None:
        self._client.close()
