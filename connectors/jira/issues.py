"""Pure conversion between planbridge's ItemSpec/RemoteItem and Jira issue JSON (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import MARKER_LABEL, ItemSpec, RemoteItem, RemoteRef, RemoteStatus
from connectors.jira import adf
from connectors.jira.config import JiraConfig
from connectors.jira.mapping import (
    DROPPED_LABEL,
    MARKER_PREFIX,
    assignee_identity,
    assignee_value,
    estimate_text,
    issue_labels,
    item_id_from_labels,
    parse_due_date,
    parse_jira_datetime,
    status_from_fields,
)

# Only what the connector reads: search results and issue reads stay small.
BASE_FIELDS = [
    "summary",
    "description",
    "status",
    "resolution",
    "assignee",
    "duedate",
    "labels",
    "updated",
    "issuetype",
    "parent",
]

# ItemSpec field name -> whether a write of it is possible in an edit.
EDITABLE = {"title", "description", "due_date", "estimate_hours", "assignee", "labels", "parent"}


def requested_fields(config: JiraConfig) -> list[str]:
    if config.epic_link_field and not config.is_cloud:
        return [*BASE_FIELDS, config.epic_link_field]
    return list(BASE_FIELDS)


def browse_url(config: JiraConfig, key: str) -> str:
    return f"{config.base_url.rstrip('/')}/browse/{key}"


def description_value(config: JiraConfig, text: str) -> Any:
    """ADF for Cloud's REST v3, wiki markup for Data Center's v2; None clears the field."""
    if not text.strip():
        return None
    return adf.markdown_to_adf(text) if config.is_cloud else adf.markdown_to_wiki(text)


def description_text(value: Any) -> str:
    """Back to Markdown-ish text; v3 answers in ADF, v2 answers and webhooks carry wiki strings."""
    if isinstance(value, dict):
        return adf.adf_to_markdown(value)
    return adf.wiki_to_markdown(value if isinstance(value, str) else None)


def parent_value(config: JiraConfig, parent: RemoteRef | None) -> tuple[str, Any] | None:
    """(field id, value) linking to the goal's epic; None when this instance has no such field."""
    if config.is_cloud:
        if parent is None:
            return "parent", None
        return "parent", {"key": parent.key} if parent.key else {"id": parent.external_id}
    if not config.epic_link_field:
        return None
    return config.epic_link_field, (parent.key or parent.external_id) if parent else None


def spec_fields(config: JiraConfig, spec: ItemSpec, names: set[str]) -> dict[str, Any]:
    """The Jira ``fields`` that write the ItemSpec attributes named in ``names``."""
    fields: dict[str, Any] = {}
    if "title" in names:
        fields["summary"] = spec.title
    if "description" in names:
        fields["description"] = description_value(config, spec.description)
    if "due_date" in names:
        fields["duedate"] = spec.due_date.isoformat() if spec.due_date else None
    if "assignee" in names:
        fields["assignee"] = assignee_value(spec.assignee, config.is_cloud)
    if "labels" in names:
        labels = issue_labels(spec.item_id, spec.labels)
        if spec.status is RemoteStatus.dropped:
            # A label write replaces them all: keep the one that says "dropped" on a dropped item.
            labels.append(DROPPED_LABEL)
        fields["labels"] = labels
    if "estimate_hours" in names and config.write_estimate and spec.estimate_hours:
        fields["timetracking"] = {"originalEstimate": estimate_text(spec.estimate_hours)}
    if "parent" in names and spec.kind == "item":
        link = parent_value(config, spec.parent)
        if link is not None:
            fields[link[0]] = link[1]
    return fields


def create_fields(config: JiraConfig, spec: ItemSpec) -> dict[str, Any]:
    """All a create sends; project and issue type as dicts, so the library looks up nothing."""
    issue_type = config.goal_issue_type if spec.kind == "goal" else config.item_issue_type
    fields: dict[str, Any] = {"project": {"key": config.scope}, "issuetype": {"name": issue_type}}
    wanted = {"title", "labels", "description", "due_date", "assignee", "estimate_hours"}
    if spec.parent is not None:
        wanted.add("parent")
    for name, value in spec_fields(config, spec, wanted).items():
        if value is not None:  # a create leaves empty fields out instead of clearing them
            fields[name] = value
    return fields


def remote_item(config: JiraConfig, issue: Mapping[str, Any]) -> RemoteItem:
    """A Jira issue (REST answer or webhook ``issue``) in planbridge's vocabulary."""
    fields: Mapping[str, Any] = issue.get("fields") or {}
    key = str(issue.get("key", ""))
    status, status_name = status_from_fields(
        fields, config.status_overrides, config.resolution_overrides
    )
    labels = [str(label) for label in fields.get("labels") or []]
    return RemoteItem(
        ref=RemoteRef(external_id=str(issue.get("id", "")), key=key, url=browse_url(config, key)),
        title=str(fields.get("summary") or ""),
        status=status,
        updated_at=parse_jira_datetime(str(fields.get("updated") or fields.get("created"))),
        description=description_text(fields.get("description")),
        raw_status=status_name,
        assignee=assignee_identity(fields.get("assignee")),
        due_date=parse_due_date(fields.get("duedate")),
        labels=tuple(
            label
            for label in labels
            if label != MARKER_LABEL and not label.startswith(MARKER_PREFIX)
        ),
        item_id=item_id_from_labels(labels),
        parent=_parent_ref(config, fields),
    )


def _parent_ref(config: JiraConfig, fields: Mapping[str, Any]) -> RemoteRef | None:
    parent = fields.get("parent")
    if isinstance(parent, Mapping) and parent.get("key"):
        key = str(parent["key"])
        return RemoteRef(str(parent.get("id") or key), key, browse_url(config, key))
    epic_key = fields.get(config.epic_link_field) if config.epic_link_field else None
    if isinstance(epic_key, str) and epic_key:
        return RemoteRef(epic_key, epic_key, browse_url(config, epic_key))
    return None
