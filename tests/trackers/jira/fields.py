"""Validating and applying the ``fields`` of a create or edit, with Jira's 400 messages."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from tests.trackers.jira.store import ISSUE_TYPES, Issue, JiraStore

_DURATION = re.compile(r"^\s*(?:(\d+)w)?\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*$")
SETTABLE = {"summary", "description", "duedate", "labels", "assignee", "timetracking", "parent"}


class FieldErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def duration_seconds(text: str) -> int | None:
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    weeks, days, hours, minutes = (int(part or 0) for part in match.groups())
    # Jira's defaults: 5-day weeks, 8-hour days.
    return (((weeks * 5 + days) * 8 + hours) * 60 + minutes) * 60


def validate(store: JiraStore, version: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The values to set, by attribute name; FieldErrors with Jira's per-field messages."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    settable = SETTABLE | ({store.epic_link_field} if not store.cloud else set())
    for name, value in fields.items():
        if name in ("project", "issuetype"):
            continue
        if name not in settable or (name == "parent" and not store.cloud):
            errors[name] = (
                f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            )
        elif name == "summary":
            if not isinstance(value, str) or not value.strip():
                errors[name] = "You must specify a summary of the issue."
            elif len(value) > 255:
                errors[name] = "Summary must be less than 255 characters."
            else:
                values["summary"] = value
        elif name == "description":
            if value is None:
                values["description"] = None
            elif version == "3":
                if not (
                    isinstance(value, dict)
                    and value.get("type") == "doc"
                    and value.get("version") == 1
                ):
                    errors[name] = (
                        "Operation value must be an Atlassian Document "
                        "(see the Atlassian Document Format)"
                    )
                else:
                    values["description"] = value
            elif isinstance(value, str):
                values["description"] = value
            else:
                errors[name] = "Operation value must be a string"
        elif name == "duedate":
            if value is None:
                values["duedate"] = None
            else:
                try:
                    values["duedate"] = date.fromisoformat(str(value)).isoformat()
                except ValueError:
                    errors[name] = f"Error parsing date string: {value}"
        elif name == "labels":
            if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
                errors[name] = "Field 'labels' must be an array of strings."
            elif bad := [label for label in value if not label or re.search(r"\s", label)]:
                errors[name] = f"The label '{bad[0]}' contains spaces which is invalid."
            else:
                values["labels"] = tuple(dict.fromkeys(value))
        elif name == "assignee":
            expected = "accountId" if store.cloud else "name"
            if value is not None and (not isinstance(value, dict) or expected not in value):
                errors[name] = f"Specify the assignee by '{expected}'."
            else:
                try:
                    values["assignee"] = store.user(value)
                except LookupError as missing:
                    errors[name] = f"User '{missing}' does not exist."
        elif name == "timetracking":
            estimate = (value or {}).get("originalEstimate") if isinstance(value, dict) else None
            seconds = duration_seconds(str(estimate)) if estimate is not None else None
            if seconds is None:
                errors[name] = "Original Estimate is invalid, e.g. '4h 30m'."
            else:
                values["original_estimate_seconds"] = seconds
        else:  # parent (Cloud) or the Epic Link (Data Center)
            reference = value if store.cloud else ({"key": value} if value else None)
            if reference is None:
                values["parent_id"] = None
                continue
            target = None
            if isinstance(reference, dict):
                target = store.issue(str(reference.get("key") or reference.get("id") or ""))
            if target is None or target.issue_type != "Epic":
                errors[name] = (
                    "The parent must be an existing epic."
                    if store.cloud
                    else (f"Epic '{value}' does not exist or is not an epic.")
                )
            else:
                values["parent_id"] = target.id
    if errors:
        raise FieldErrors(errors)
    return values


def validate_create(
    store: JiraStore, version: str, fields: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    errors: dict[str, str] = {}
    project = fields.get("project")
    if not isinstance(project, dict) or (
        project.get("key") != store.project_key and str(project.get("id")) != "10000"
    ):
        errors["project"] = "Specify a valid project ID or key"
    issue_type = fields.get("issuetype")
    type_name = None
    if isinstance(issue_type, dict):
        type_name = issue_type.get("name") or next(
            (name for name, type_id in ISSUE_TYPES.items() if type_id == str(issue_type.get("id"))),
            None,
        )
    if type_name not in ISSUE_TYPES:
        errors["issuetype"] = "Specify an issue type"
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    try:
        values = validate(store, version, fields)
    except FieldErrors as invalid:
        errors.update(invalid.errors)
        values = {}
    if errors:
        raise FieldErrors(errors)
    return str(type_name), values


def changelog_items(store: JiraStore, issue: Issue, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Set ``values`` on ``issue``; the changelog items of what really changed."""
    items: list[dict[str, Any]] = []
    for attribute, value in values.items():
        before = getattr(issue, attribute)
        if before == value:
            continue
        setattr(issue, attribute, value)
        name = {
            "original_estimate_seconds": "timeoriginalestimate",
            "parent_id": "IssueParentAssociation",
        }.get(attribute, attribute)
        if attribute == "assignee":
            items.append(
                _item("assignee", _identity(store, before), _identity(store, value), before, value)
            )
        else:
            items.append(_item(name, before, value, before, value))
    return items


def _identity(store: JiraStore, user: Any) -> str | None:
    if user is None:
        return None
    return str(user.account_id if store.cloud else user.name)


def _item(field_name: str, old: Any, new: Any, old_text: Any, new_text: Any) -> dict[str, Any]:
    def text(value: Any) -> str | None:
        if value is None:
            return None
        if hasattr(value, "display_name"):
            return str(value.display_name)
        if isinstance(value, tuple):
            return " ".join(value)
        if isinstance(value, dict):
            return "(document)"
        return str(value)

    return {
        "field": field_name,
        "fieldtype": "jira",
        "fieldId": field_name,
        "from": None if old is None else text(old),
        "fromString": text(old_text),
        "to": None if new is None else text(new),
        "toString": text(new_text),
    }
