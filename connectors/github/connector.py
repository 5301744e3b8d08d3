"""The GitHub Issues connector: action items as issues, goals as milestones (docs/connectors.md).

GitHub REST reference: https://docs.github.com/en/rest/issues
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar, Literal

from connectors.base import (
    MARKER_LABEL,
    AuditResult,
    ChangePage,
    Invalid,
    ItemSpec,
    NotFound,
    ObjectMoved,
    RateLimitState,
    RateWindow,
    RemoteHint,
    RemoteItem,
    RemoteRef,
)
from connectors.github import mapping, webhooks
from connectors.github.client import GitHubClient
from connectors.github.config import GitHubConfig
from connectors.github.polling import PollCursor


class GitHubConnector:
    kind: ClassVar[str] = "github"
    config_model: ClassVar[type[GitHubConfig]] = GitHubConfig
    # GitHub's secondary limits on content-creating requests: 80 per minute and 500 per hour.
    write_limits: ClassVar[tuple[RateWindow, ...]] = (RateWindow(80, 60), RateWindow(500, 3600))

    def __init__(self, config: GitHubConfig) -> None:
        self.config = config
        self.client = GitHubClient(config)
        self._learned: dict[str, Any] = {}
        self.rules = mapping.StatusRules(
            in_progress_label=config.in_progress_label,
            blocked_label=config.blocked_label,
            assigned_means_in_progress=config.assigned_means_in_progress,
            overrides=config.status_overrides,
        )

    # -- checks and writes ---------------------------------------------------------------------

    def check(self) -> None:
        repository = self.client.repository()
        if not repository.get("has_issues", True):
            raise Invalid(f"issues are disabled in {self.config.scope}")
        if repository.get("archived") is True:
            raise Invalid(f"{self.config.scope} is archived on GitHub, so read-only")
        # Without push access GitHub silently drops labels, assignees and milestones on create.
        if not (repository.get("permissions") or {}).get("push", True):
            raise Invalid(f"the token has no push access to {self.config.scope}")
        if isinstance(repository.get("id"), int):
            self._learned = {"repository_id": repository["id"]}

    def learned_config(self) -> dict[str, Any]:
        """The repository id the last check read (deliveries are matched to it)."""
        return dict(self._learned)

    def create_item(self, spec: ItemSpec) -> RemoteItem:
        """One POST and no read: lazy repository; the marker goes in with the create."""
        body = mapping.body_with_marker(spec.description, spec.item_id)
        if spec.kind == "goal":
            milestone = self.client.create_milestone(spec.title, body, spec.due_date)
            return mapping.item_from_milestone(milestone)
        parent = self._parent_number(spec)
        labels = [MARKER_LABEL, *(label for label in spec.labels if label != MARKER_LABEL)]
        assignees = [spec.assignee] if spec.assignee else []
        issue = self.client.create_issue(spec.title, body, labels, assignees, parent)
        return self._item(issue)

    def update_item(self, ref: RemoteRef, spec: ItemSpec, fields: set[str]) -> RemoteItem:
        """Write only ``fields``; labels or status read the issue first to keep others' labels."""
        if mapping.is_milestone_ref(ref):
            number = mapping.milestone_number(ref)
            payload = mapping.milestone_fields(spec, fields)
            if not payload:
                return mapping.item_from_milestone(self.client.get_milestone(number))
            return mapping.item_from_milestone(self.client.edit_milestone(number, payload))
        number = mapping.issue_number(ref)
        try:
            payload = mapping.issue_fields(spec, fields)
        except ValueError as error:
            raise Invalid(str(error)) from error
        if fields & {"labels", "status"}:
            payload.update(self._label_and_status_change(number, spec, fields))
        if not payload:
            return self._item(self.client.get_issue(number))
        return self._item(self.client.edit_issue(number, payload))

    def _label_and_status_change(
        self, number: int, spec: ItemSpec, fields: set[str]
    ) -> dict[str, Any]:
        current = mapping.label_names(self.client.get_issue(number))
        labels = list(current)
        if "labels" in fields:
            # planbridge owns the labels it asks for; status labels and people's own labels stay.
            kept = [name for name in current if name not in spec.labels]
            labels = [*kept, *(name for name in spec.labels if name not in kept)]
        if MARKER_LABEL not in labels:
            labels.insert(0, MARKER_LABEL)
        change: dict[str, Any] = {}
        if "status" in fields and spec.status is not None:
            try:
                change = mapping.status_change(spec.status, labels, self.rules)
            except ValueError as error:
                raise Invalid(str(error)) from error
        labels = change.get("labels", labels)
        if labels != current:
            change["labels"] = labels
        return change

    def _parent_number(self, spec: ItemSpec) -> int | None:
        if spec.parent is None:
            return None
        try:
            return mapping.milestone_number(spec.parent)
        except ValueError as error:
            raise Invalid(str(error)) from error

    # -- reads ---------------------------------------------------------------------------------

    def fetch_item(self, ref: RemoteRef) -> RemoteItem | None:
        try:
            if mapping.is_milestone_ref(ref):
                return mapping.item_from_milestone(
                    self.client.get_milestone(mapping.milestone_number(ref))
                )
            issue = self.client.get_issue(mapping.issue_number(ref))
        except NotFound:
            # 404, or 410 "This issue was deleted": GitHub's answer proves the object is gone.
            return None
        except ValueError as error:
            raise Invalid(str(error)) from error
        return self._item(issue)

    # An audit batch: each issue is its own conditional GET, free when GitHub answers 304.
    audit_batch_size: ClassVar[int] = 100

    def audit(self, refs: list[RemoteRef], validators: Mapping[str, str]) -> AuditResult:
        """One conditional GET per issue (its last ETag); 404/410 or a transfer is missing."""
        result = AuditResult()
        for ref in refs:
            try:
                if mapping.is_milestone_ref(ref):
                    item = self.fetch_item(ref)
                    if item is None:
                        result.missing.append(ref)
                    else:
                        result.found.append(item)
                    continue
                issue, etag = self.client.get_issue_if_changed(
                    mapping.issue_number(ref), validators.get(ref.external_id)
                )
            except (NotFound, ObjectMoved):
                # The engine proves it with fetch_item, and follows a transfer from there.
                result.missing.append(ref)
                continue
            except ValueError as error:
                raise Invalid(str(error)) from error
            if etag:
                result.validators[ref.external_id] = etag
            if issue is None:
                result.unchanged.append(ref)
            else:
                result.found.append(self._item(issue))
        return result

    def find_by_marker(
        self, item_id: uuid.UUID, kind: Literal["item", "goal"] = "item"
    ) -> RemoteItem | None:
        """List (consistent), not search (lagging): labelled issues newest first, or milestones."""
        if kind == "goal":
            url, parameters = (
                f"{self.client.repo.url}/milestones",
                {"state": "all", "direction": "desc"},
            )
        else:
            url = f"{self.client.repo.url}/issues"
            parameters = {
                "state": "all",
                "labels": MARKER_LABEL,
                "sort": "created",
                "direction": "desc",
            }
        parameters["per_page"] = str(self.config.page_size)
        field_name = "description" if kind == "goal" else "body"
        next_url: str | None = url
        first = True
        while next_url is not None:
            page = self.client.list_page(next_url, parameters if first else None)
            first = False
            for row in page.rows:
                if (
                    "pull_request" in row
                    or mapping.item_id_from_body(row.get(field_name)) != item_id
                ):
                    continue
                return mapping.item_from_milestone(row) if kind == "goal" else self._item(row)
            next_url = page.next_url
        return None

    def fetch_changes(self, cursor: dict[str, Any] | None) -> ChangePage:
        """Issues planbridge created that changed since ``cursor``; no change costs one 304.

        The list is filtered by the planbridge label: the cost follows planbridge's issues, not the
        whole repository's traffic. An issue whose label a person removed drops out of polls (its
        webhooks still arrive, and the engine can fetch it by reference).
        """
        poll = PollCursor.load(
            cursor, lookback=timedelta(seconds=self.config.poll_lookback_seconds)
        )
        url = poll.next_url or f"{self.client.repo.url}/issues"
        parameters = None if poll.next_url else poll.parameters(self.config.page_size)
        page = self.client.list_page(url, parameters, None if poll.next_url else poll.etag)
        if page.status == 304:
            return ChangePage(items=[], cursor=poll.dump(), not_modified=True)
        items = [self._item(row) for row in page.rows if "pull_request" not in row]
        changed = poll.absorb(items, mapping.change_digest)
        poll.after_page(page, self.config.page_size)
        return ChangePage(items=changed, cursor=poll.dump(), has_more=poll.more)

    def marker_lookup_delay(self) -> timedelta:
        # Listing issues is read-your-writes consistent on GitHub; only search lags.
        return timedelta(0)

    # -- webhooks ------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self.config.webhook_secret
        return secret is not None and webhooks.signature_is_valid(
            secret.get_secret_value(), headers, body
        )

    def webhook_delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        return webhooks.delivery_id(headers, body)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[RemoteHint]:
        return webhooks.hints(
            headers, body, self.config.scope, self.rules, self.config.repository_id
        )

    def register_webhook(self, callback_url: str) -> str:
        if self.config.webhook_secret is None:
            raise Invalid("a webhook_secret is needed before registering a GitHub webhook")
        return str(
            self.client.create_hook(callback_url, self.config.webhook_secret.get_secret_value())
        )

    @property
    def rate_limit(self) -> RateLimitState:
        return self.client.rate_limit

    def close(self) -> None:
        self.client.close()

    def _item(self, issue: dict[str, Any]) -> RemoteItem:
        return mapping.item_from_issue(issue, self.config.scope, self.rules)
