"""Jira's JSON shapes, as REST v2 / v3 and the admin webhooks write them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.trackers.jira.store import (
    CATEGORIES,
    ISSUE_TYPES,
    RESOLUTIONS,
    Issue,
    JiraStore,
    Status,
    User,
)

# ``fields=*navigable`` and the default of GET issue: everything the emulator knows.
ALL_FIELDS = (
    "summary",
    "description",
    "status",
    "resolution",
    "resolutiondate",
    "assignee",
    "duedate",
    "labels",
    "updated",
    "created",
    "issuetype",
    "project",
    "parent",
    "timetracking",
    "reporter",
)


def jira_time(moment: datetime) -> str:
    """``2026-11-25T10:31:18.000+0100``: milliseconds and a colon-less offset."""
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + moment.strftime("%z")
    )


class Formats:
    def __init__(self, store: JiraStore, base: str) -> None:
        self.store = store
        self.base = base.rstrip("/")

    def api(self, version: str) -> str:
        return f"{self.base}/rest/api/{'2' if version == 'latest' else version}"

    def user(self, user: User, version: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "displayName": user.display_name,
            "active": True,
            "timeZone": self.store.time_zone,
            "avatarUrls": {"48x48": f"{self.base}/secure/useravatar?size=large"},
        }
        if self.store.cloud:
            body.update(
                self=f"{self.api(version)}/user?accountId={user.account_id}",
                accountId=user.account_id,
                accountType="atlassian",
                emailAddress=user.email,
            )
        else:
            body.update(
                self=f"{self.api(version)}/user?username={user.name}",
                name=user.name,
                key=f"JIRAUSER{abs(hash(user.name)) % 100000}",
                emailAddress=user.email,
            )
        return body

    def status(self, status: Status, version: str) -> dict[str, Any]:
        category = CATEGORIES[status.category]
        return {
            "self": f"{self.api(version)}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.api(version)}/statuscategory/{category['id']}",
                **category,
            },
        }

    def resolution(self, name: str, version: str) -> dict[str, Any]:
        return {
            "self": f"{self.api(version)}/resolution/{RESOLUTIONS[name]}",
            "id": RESOLUTIONS[name],
            "description": "",
            "name": name,
        }

    def screen_field(self, name: str, version: str) -> dict[str, Any]:
        """A transition screen's field as ``expand=transitions.fields`` lists it (FieldMetadata)."""
        if name != "resolution":
            raise ValueError(f"the emulator's screens hold no field {name!r}")
        return {
            "required": True,
            "schema": {"type": "resolution", "system": "resolution"},
            "name": "Resolution",
            "key": "resolution",
            "operations": ["set"],
            "allowedValues": [self.resolution(known, version) for known in RESOLUTIONS],
        }

    def issue_type(self, name: str, version: str) -> dict[str, Any]:
        type_id = ISSUE_TYPES[name]
        return {
            "self": f"{self.api(version)}/issuetype/{type_id}",
            "id": type_id,
            "description": "",
            "name": name,
            "subtask": False,
            "hierarchyLevel": 1 if name == "Epic" else 0,
        }

    def project(self, version: str, with_issue_types: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{self.api(version)}/project/10000",
            "id": "10000",
            "key": self.store.project_key,
            "name": self.store.project_name,
            "projectTypeKey": "software",
        }
        if with_issue_types:
            body["issueTypes"] = [self.issue_type(name, version) for name in ISSUE_TYPES]
        return body

    def issue(self, issue: Issue, version: str, wanted: set[str] | None) -> dict[str, Any]:
        """An issue; ``wanted`` None means every field, an empty set means ids only."""
        body: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": str(issue.id),
            "self": f"{self.api(version)}/issue/{issue.id}",
            "key": issue.key,
        }
        names = set(ALL_FIELDS) if wanted is None else wanted
        if self.store.epic_link_field and not self.store.cloud:
            names = names if wanted is not None else names | {self.store.epic_link_field}
        if names:
            body["fields"] = {
                name: self.field(issue, name, version) for name in sorted(names) if self.knows(name)
            }
        return body

    def knows(self, name: str) -> bool:
        return name in ALL_FIELDS or (not self.store.cloud and name == self.store.epic_link_field)

    def field(self, issue: Issue, name: str, version: str) -> Any:
        if name == "summary":
            return issue.summary
        if name == "description":
            return self.description(issue.description, version)
        if name == "status":
            return self.status(issue.status, version)
        if name == "resolution":
            if issue.resolution is None:
                return None
            return self.resolution(issue.resolution, version)
        if name == "resolutiondate":
            return jira_time(issue.updated) if issue.resolution else None
        if name == "assignee":
            return self.user(issue.assignee, version) if issue.assignee else None
        if name == "reporter":
            return self.user(self.store.api_user, version)
        if name == "duedate":
            return issue.duedate
        if name == "labels":
            return list(issue.labels)
        if name == "updated":
            return jira_time(issue.updated)
        if name == "created":
            return jira_time(issue.created)
        if name == "issuetype":
            return self.issue_type(issue.issue_type, version)
        if name == "project":
            return self.project(version)
        if name == "timetracking":
            if issue.original_estimate_seconds is None:
                return {}
            minutes = issue.original_estimate_seconds // 60
            return {
                "originalEstimate": f"{minutes}m",
                "originalEstimateSeconds": issue.original_estimate_seconds,
            }
        parent = self.store.issues.get(issue.parent_id) if issue.parent_id else None
        if name == "parent":
            if not self.store.cloud or parent is None:
                return None
            return {
                "id": str(parent.id),
                "key": parent.key,
                "self": f"{self.api(version)}/issue/{parent.id}",
                "fields": {
                    "summary": parent.summary,
                    "status": self.status(parent.status, version),
                    "issuetype": self.issue_type(parent.issue_type, version),
                },
            }
        # The Data Center Epic Link field holds the epic's key.
        return parent.key if parent is not None else None

    def description(self, stored: Any, version: str) -> Any:
        """v3 answers ADF; v2 (Data Center, and webhooks) answers a wiki string."""
        if stored is None:
            return None
        if version == "3":
            return stored
        if isinstance(stored, dict):
            return adf_plain_text(stored)
        return stored

    def webhook(self, change: Any) -> dict[str, Any]:
        """The admin webhook body: v2-style issue, the acting user, the changelog for updates."""
        payload: dict[str, Any] = {
            "timestamp": int(change.at.timestamp() * 1000),
            "webhookEvent": change.event,
            "issue_event_type_name": change.type_name,
            "user": self.user(change.user, "2"),
            "issue": self.issue(change.issue, "2", None),
        }
        if change.event == "jira:issue_updated":
            payload["changelog"] = {"id": str(change.changelog_id), "items": list(change.items)}
        return payload


def adf_plain_text(node: dict[str, Any]) -> str:
    """What Cloud's v2 shows of an ADF document: its text, blocks on separate lines."""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [adf_plain_text(child) for child in node.get("content") or []]
    separator = "\n" if node.get("type") in ("doc", "bulletList", "orderedList") else ""
    return separator.join(parts)


def error_body(*messages: str, **errors: str) -> dict[str, Any]:
    return {"errorMessages": list(messages), "errors": errors}
