"""GitHub webhook deliveries: signature check and the ``issues`` events planbridge turns into hints.

https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries and
https://docs.github.com/en/webhooks/webhook-events-and-payloads#issues
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from connectors.base import Invalid, OutOfScope, RemoteHint
from connectors.github import mapping

ISSUE_ACTIONS = frozenset(
    {
        "opened", "edited", "closed", "reopened", "assigned", "unassigned",
        "labeled", "unlabeled", "milestoned", "demilestoned",
    }
)  # fmt: skip
GONE_ACTIONS = frozenset({"deleted", "transferred"})
# The issue fields planbridge reads, and the JSON type each must have.
FIELD_TYPES: dict[str, type] = {
    "title": str, "body": str, "updated_at": str, "state": str, "state_reason": str,
    "labels": list, "assignees": list, "milestone": dict,
}  # fmt: skip


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Header lookup ignoring case (frameworks differ in how they pass header names on)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def signature_is_valid(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """X-Hub-Signature-256 is "sha256=" + HMAC-SHA256(secret, raw body); constant-time compare."""
    received = header(headers, "X-Hub-Signature-256")
    if not received or not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.strip().encode())


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    # GitHub keeps the same X-GitHub-Delivery GUID when a delivery is redelivered.
    return header(headers, "X-GitHub-Delivery") or "sha256:" + hashlib.sha256(body).hexdigest()


def hints(
    headers: Mapping[str, str],
    body: bytes,
    scope: str,
    rules: mapping.StatusRules,
    repository_id: int | None = None,
) -> list[RemoteHint]:
    """Hints from an ``issues`` delivery; ``ping``, other events and pull requests give none.

    Raises ``OutOfScope`` for another repository's issue and ``Invalid`` for a body it cannot
    use: issue numbers are per repository, so #1 of another repository must never reach the
    link of #1 here (one organization webhook, or one secret shared by several repositories).
    """
    if header(headers, "X-GitHub-Event") != "issues":
        return []
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise Invalid("the delivery body is not JSON") from None
    if not isinstance(payload, dict):
        raise Invalid("the delivery body is not a JSON object")
    issue = payload.get("issue")
    action = payload.get("action")
    # ``issues`` events fire for pull requests too (milestoned, labeled); they are not planbridge's.
    if not isinstance(issue, dict) or "pull_request" in issue or "number" not in issue:
        return []
    check_repository(payload.get("repository"), scope, repository_id)
    try:
        return _issue_hints(issue, action, scope, rules)
    except (
        ValueError,
        TypeError,
        AttributeError,
        LookupError,
        ArithmeticError,
        RecursionError,
    ) as exc:
        raise Invalid(f"malformed issue in the delivery: {type(exc).__name__}: {exc}") from None


def check_repository(repository: Any, scope: str, repository_id: int | None) -> None:
    """The delivery's repository is the connection's: by id where known (a rename keeps it),
    else by full name, as GitHub compares names (case-insensitively)."""
    if not isinstance(repository, dict):
        raise OutOfScope("the delivery names no repository")
    if repository_id is not None and isinstance(repository.get("id"), int):
        if repository["id"] != repository_id:
            raise OutOfScope(
                f"the delivery is about repository {repository.get('full_name')} "
                f"(id {repository['id']}), not this connection's (id {repository_id})"
            )
        return
    full_name = repository.get("full_name")
    if not isinstance(full_name, str) or full_name.lower() != scope.lower():
        raise OutOfScope(f"the delivery is about repository {full_name}, not {scope}")


def _issue_hints(
    issue: dict[str, Any], action: Any, scope: str, rules: mapping.StatusRules
) -> list[RemoteHint]:
    if not isinstance(issue["number"], int) or isinstance(issue["number"], bool):
        raise Invalid(f"issue number {issue['number']!r} is not a number")
    for name, kind in FIELD_TYPES.items():
        if issue.get(name) is not None and not isinstance(issue[name], kind):
            raise Invalid(f"issue field {name} is not a {kind.__name__}")
    event = f"issues.{action}"
    if action in GONE_ACTIONS:
        return [
            RemoteHint(
                event=event,
                ref=mapping.issue_ref(issue, scope),
                item_id=mapping.item_id_from_body(issue.get("body")),
                updated_at=mapping.parse_time(issue.get("updated_at")),
                deleted=True,
            )
        ]
    if action not in ISSUE_ACTIONS:
        return []
    item = mapping.item_from_issue(issue, scope, rules)
    return [
        RemoteHint(
            event=event, ref=item.ref, item=item, item_id=item.item_id, updated_at=item.updated_at
        )
    ]
