"""Pure translations between GitHub's issue/milestone JSON and planbridge's data classes.

Formats: https://docs.github.com/en/rest/issues/issues and https://docs.github.com/en/rest/issues/milestones
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connectors.base import (
    MARKER_LABEL,
    ItemSpec,
    RemoteItem,
    RemoteRef,
    RemoteStatus,
    marker_text,
)

MARKER_PATTERN = re.compile(r"<!-- planbridge:item=([0-9a-fA-F-]{36}) -->")
MILESTONE_PREFIX = "milestone:"
# When GitHub says "rate limited" without saying how long: its docs ask for at least a minute.
SECONDARY_LIMIT_DEFAULT_WAIT = 60.0


@dataclass(frozen=True)
class StatusRules:
    """How one connection reads status (labels and assignment are team conventions)."""

    in_progress_label: str | None = "in progress"
    blocked_label: str | None = "blocked"
    assigned_means_in_progress: bool = False
    # Keys (any case): a label name (open issues), "open", "closed", "closed:<state_reason>".
    overrides: Mapping[str, RemoteStatus] = field(default_factory=dict)

    def override(self, name: str) -> RemoteStatus | None:
        wanted = name.lower()
        for key, status in self.overrides.items():
            if key.lower() == wanted:
                return status
        return None


# -- the marker ---------------------------------------------------------------------------------


def body_with_marker(description: str, item_id: uuid.UUID) -> str:
    """The Markdown body: the description, then the hidden marker line (invisible when rendered)."""
    description = description.rstrip()
    return f"{description}\n\n{marker_text(item_id)}" if description else marker_text(item_id)


def item_id_from_body(body: str | None) -> uuid.UUID | None:
    match = MARKER_PATTERN.search(body or "")
    return uuid.UUID(match.group(1)) if match else None


def description_from_body(body: str | None) -> str:
    return MARKER_PATTERN.sub("", body or "").rstrip()


# -- references ---------------------------------------------------------------------------------


def issue_number(ref: RemoteRef) -> int:
    try:
        return int(ref.external_id)
    except ValueError:
        raise ValueError(f"not a GitHub issue reference: {ref.external_id!r}") from None


def is_milestone_ref(ref: RemoteRef) -> bool:
    return ref.external_id.startswith(MILESTONE_PREFIX)


def milestone_number(ref: RemoteRef) -> int:
    """Milestones are referenced as "milestone:<number>"; a bare number is accepted for parents."""
    try:
        return int(ref.external_id.removeprefix(MILESTONE_PREFIX))
    except ValueError:
        raise ValueError(f"not a GitHub milestone reference: {ref.external_id!r}") from None


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def due_on_from_date(due: date | None) -> str | None:
    # GitHub stores milestone due dates as timestamps; midnight UTC keeps the calendar date.
    return None if due is None else f"{due.isoformat()}T00:00:00Z"


# -- status -------------------------------------------------------------------------------------


def label_names(issue: Mapping[str, Any]) -> list[str]:
    return [
        label["name"] if isinstance(label, dict) else str(label)
        for label in issue.get("labels") or []
    ]


def raw_status_of(issue: Mapping[str, Any]) -> str:
    if issue.get("state") == "closed":
        return f"closed:{issue.get('state_reason') or 'completed'}"
    return "open"


def status_of(issue: Mapping[str, Any], rules: StatusRules) -> RemoteStatus:
    """Status by category: state and state_reason first, then the team's labels and assignment."""
    raw = raw_status_of(issue)
    labels = {name.lower() for name in label_names(issue)}
    if raw == "open":
        for name in sorted(labels):
            if (labelled := rules.override(name)) is not None:
                return labelled
    for key in (raw, raw.split(":")[0]):
        if (overridden := rules.override(key)) is not None:
            return overridden
    if raw != "open":
        reason = raw.split(":", 1)[1]
        return RemoteStatus.dropped if reason in ("not_planned", "duplicate") else RemoteStatus.done
    if rules.blocked_label and rules.blocked_label.lower() in labels:
        return RemoteStatus.blocked
    if rules.in_progress_label and rules.in_progress_label.lower() in labels:
        return RemoteStatus.in_progress
    if rules.assigned_means_in_progress and issue.get("assignees"):
        return RemoteStatus.in_progress
    return RemoteStatus.todo


def status_change(
    status: RemoteStatus, current_labels: list[str], rules: StatusRules
) -> dict[str, Any]:
    """The PATCH fields that move an issue to ``status``, keeping every non-status label."""
    status_labels = {
        name.lower() for name in (rules.in_progress_label, rules.blocked_label) if name
    }
    labels = [name for name in current_labels if name.lower() not in status_labels]
    if status is RemoteStatus.in_progress:
        if not rules.in_progress_label:
            raise ValueError("in_progress needs an in_progress_label on this connection")
        labels.append(rules.in_progress_label)
    elif status is RemoteStatus.blocked:
        if not rules.blocked_label:
            raise ValueError("blocked needs a blocked_label on this connection")
        labels.append(rules.blocked_label)
    change: dict[str, Any] = {"state": "open"}
    if status in (RemoteStatus.done, RemoteStatus.dropped):
        reason = "completed" if status is RemoteStatus.done else "not_planned"
        change = {"state": "closed", "state_reason": reason}
    if labels != current_labels:
        change["labels"] = labels
    return change


# -- issues and milestones ----------------------------------------------------------------------


def milestone_ref(milestone: Mapping[str, Any]) -> RemoteRef:
    return RemoteRef(
        f"{MILESTONE_PREFIX}{milestone['number']}",
        milestone.get("title"),
        milestone.get("html_url"),
    )


def issue_ref(issue: Mapping[str, Any], scope: str) -> RemoteRef:
    return RemoteRef(str(issue["number"]), f"{scope}#{issue['number']}", issue.get("html_url"))


def item_from_issue(issue: Mapping[str, Any], scope: str, rules: StatusRules) -> RemoteItem:
    assignees = issue.get("assignees") or []
    milestone = issue.get("milestone")
    updated_at = parse_time(issue.get("updated_at"))
    return RemoteItem(
        ref=issue_ref(issue, scope),
        title=issue.get("title") or "",
        status=status_of(issue, rules),
        updated_at=updated_at or datetime.now(UTC),
        description=description_from_body(issue.get("body")),
        raw_status=raw_status_of(issue),
        assignee=assignees[0]["login"] if assignees else None,
        labels=tuple(name for name in label_names(issue) if name != MARKER_LABEL),
        item_id=item_id_from_body(issue.get("body")),
        parent=milestone_ref(milestone) if milestone else None,
    )


def item_from_milestone(milestone: Mapping[str, Any]) -> RemoteItem:
    closed = milestone.get("state") == "closed"
    due_on = parse_time(milestone.get("due_on"))
    return RemoteItem(
        ref=milestone_ref(milestone),
        title=milestone.get("title") or "",
        status=RemoteStatus.done if closed else RemoteStatus.todo,
        updated_at=parse_time(milestone.get("updated_at")) or datetime.now(UTC),
        description=description_from_body(milestone.get("description")),
        raw_status=str(milestone.get("state")),
        due_date=due_on.date() if due_on else None,
        item_id=item_id_from_body(milestone.get("description")),
    )


def issue_fields(spec: ItemSpec, fields: set[str]) -> dict[str, Any]:
    """The planning fields of an issue PATCH/POST (status and labels are merged by the caller)."""
    payload: dict[str, Any] = {}
    if "title" in fields:
        payload["title"] = spec.title
    if "description" in fields:
        payload["body"] = body_with_marker(spec.description, spec.item_id)
    if "assignee" in fields:
        payload["assignees"] = [spec.assignee] if spec.assignee else []
    if "parent" in fields:
        payload["milestone"] = milestone_number(spec.parent) if spec.parent else None
    return payload


def milestone_fields(spec: ItemSpec, fields: set[str]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if "title" in fields:
        payload["title"] = spec.title
    if "description" in fields:
        payload["description"] = body_with_marker(spec.description, spec.item_id)
    if "due_date" in fields:
        payload["due_on"] = due_on_from_date(spec.due_date)
    if "status" in fields and spec.status is not None:
        finished = spec.status in (RemoteStatus.done, RemoteStatus.dropped)
        payload["state"] = "closed" if finished else "open"
    return payload


def change_digest(item: RemoteItem) -> str:
    """What a poll compares to tell a real change from an issue it has already reported."""
    facts = [
        item.title,
        item.status,
        item.raw_status,
        item.description,
        item.assignee,
        list(item.labels),
    ]
    facts.append(item.parent.external_id if item.parent else None)
    return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()[:16]


# -- rate limits --------------------------------------------------------------------------------


def lower_keys(headers: Mapping[str, Any]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in headers.items()}


def is_rate_limit_message(message: str) -> bool:
    lowered = message.lower()
    return (
        lowered.startswith("api rate limit exceeded")
        or "secondary rate limit" in lowered
        or lowered.endswith("please wait a few minutes before you try again.")
    )


def rate_limit_wait(
    status: int, headers: Mapping[str, Any], message: str, now: datetime
) -> float | None:
    """Seconds to wait if a 403/429 is a rate limit (GitHub's documented order), else None.

    ``retry-after`` first; then, when the primary limit is spent (remaining 0), until
    ``x-ratelimit-reset``; otherwise a secondary limit without a hint means at least one minute.
    """
    if status not in (403, 429):
        return None
    lowered = lower_keys(headers)
    retry_after = lowered.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(retry_after)
            return max(0.0, (parsed - now).total_seconds())
    if lowered.get("x-ratelimit-remaining") == "0" and lowered.get("x-ratelimit-reset"):
        # One extra second: the reset epoch is whole seconds and clocks are not exactly aligned.
        return max(0.0, float(lowered["x-ratelimit-reset"]) - now.timestamp() + 1)
    if status == 429 or is_rate_limit_message(message):
        return SECONDARY_LIMIT_DEFAULT_WAIT
    return None
