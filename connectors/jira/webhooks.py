"""Jira admin webhooks: signature, delivery id and the hints an ``issue`` event carries.

https://developer.atlassian.com/cloud/jira/platform/webhooks/ (secure admin webhooks: HMAC-SHA256 of
the raw body in ``X-Hub-Signature: sha256=<hex>``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from connectors.base import Invalid, OutOfScope, RemoteHint, RemoteRef
from connectors.jira.config import JiraConfig
from connectors.jira.issues import browse_url, remote_item
from connectors.jira.mapping import DROPPED_LABEL, item_id_from_labels, status_from_jira

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
ISSUE_EVENTS = {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"}
# The issue fields planbridge reads, and the JSON types each may have (description: ADF on
# Cloud, wiki text on Data Center).
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "summary": str, "updated": str, "created": str, "duedate": str, "labels": list,
    "status": dict, "resolution": dict, "assignee": dict, "parent": dict,
    "description": (str, dict),
}  # fmt: skip


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever case the web framework or the test used."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    received = header(headers, SIGNATURE_HEADER)
    if not secret or not received:
        return False
    return hmac.compare_digest(received.strip().encode(), sign(secret, body).encode())


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    """Jira's delivery identifier (same on retries); a hash of the body when a proxy dropped it."""
    identifier = header(headers, DELIVERY_HEADER)
    if identifier:
        return identifier.strip()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse(config: JiraConfig, body: bytes) -> list[RemoteHint]:
    """Hints from a delivery; events planbridge does not use (and non-issue payloads) give [].

    Raises ``OutOfScope`` for an issue of another project (an admin webhook without a JQL filter
    sends every project's) and ``Invalid`` for a body it cannot use, whatever field is malformed.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise Invalid(f"webhook body is not JSON: {type(error).__name__}") from None
    if not isinstance(payload, dict):
        return []
    event = payload.get("webhookEvent")
    issue = payload.get("issue")
    if event not in ISSUE_EVENTS or not isinstance(issue, dict) or not issue.get("id"):
        return []
    check_project(config, issue)
    try:
        return _issue_hints(config, payload, event, issue)
    except (
        ValueError,
        TypeError,
        AttributeError,
        LookupError,
        ArithmeticError,
        RecursionError,
    ) as exc:
        raise Invalid(f"malformed issue in the delivery: {type(exc).__name__}: {exc}") from None


def check_project(config: JiraConfig, issue: Mapping[str, Any]) -> None:
    """The issue belongs to the connection's project: by ``fields.project`` (key or id), else by
    the prefix of its key."""
    key = issue.get("key")
    fields = issue.get("fields")
    project = fields.get("project") if isinstance(fields, dict) else None
    wanted = config.scope.upper()
    if isinstance(project, dict) and (project.get("key") or project.get("id")):
        if str(project.get("key") or "").upper() == wanted or str(project.get("id")) == wanted:
            return
        raise OutOfScope(
            f"the delivery is about issue {key} of project {project.get('key')}, not {config.scope}"
        )
    if isinstance(key, str) and "-" in key:
        if key.rsplit("-", 1)[0].upper() == wanted:
            return
        raise OutOfScope(f"the delivery is about issue {key}, not of project {config.scope}")
    raise OutOfScope("the delivery names no project for its issue")


def _issue_hints(
    config: JiraConfig, payload: Mapping[str, Any], event: str, issue: Mapping[str, Any]
) -> list[RemoteHint]:
    fields_value = issue.get("fields")
    if fields_value is not None and not isinstance(fields_value, dict):
        raise Invalid("the issue's fields are not an object")
    if event != "jira:issue_deleted" and not fields_value:
        raise Invalid("the issue has no fields")
    for name, kinds in FIELD_TYPES.items():
        value = (fields_value or {}).get(name)
        if value is not None and not isinstance(value, kinds):
            raise Invalid(f"issue field {name} has the wrong type ({type(value).__name__})")
    if event == "jira:issue_deleted":
        key = str(issue.get("key") or "")
        labels = (issue.get("fields") or {}).get("labels") or []
        return [
            RemoteHint(
                event=event,
                ref=RemoteRef(
                    str(issue["id"]), key or None, browse_url(config, key) if key else None
                ),
                item_id=item_id_from_labels(labels),
                updated_at=_timestamp(payload.get("timestamp")),
                deleted=True,
            )
        ]
    item = remote_item(config, issue)
    moved_to = _changelog_status(payload.get("changelog"))
    if moved_to is not None:
        # The changelog names the status the issue moved to in this change; its category comes
        # from the issue, since only ``fields.status`` carries one.
        fields = issue.get("fields") or {}
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        resolution = (fields.get("resolution") or {}).get("name")
        status = status_from_jira(
            moved_to,
            category,
            resolution,
            config.status_overrides,
            config.resolution_overrides,
            dropped_label=DROPPED_LABEL in (fields.get("labels") or ()),
        )
        item = replace(item, status=status, raw_status=moved_to)
    return [
        RemoteHint(
            event=event,
            ref=item.ref,
            item=item,
            item_id=item.item_id,
            updated_at=item.updated_at,
        )
    ]


def _changelog_status(changelog: Any) -> str | None:
    if not isinstance(changelog, dict):
        return None
    for entry in changelog.get("items") or []:
        if isinstance(entry, dict) and (entry.get("fieldId") or entry.get("field")) == "status":
            value = entry.get("toString")
            return str(value) if value else None
    return None


def _timestamp(value: Any) -> datetime | None:
    """Cloud sends epoch milliseconds; old servers sent other shapes, which are not trusted."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return None
