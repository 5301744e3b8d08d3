"""GitHub webhook deliveries: signature check and the ``issues`` events planbridge turns into hints.

https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries and
https://docs.github.com/en/webhooks/webhook-events-and-payloads#issues
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from connectors.base import RemoteHint
from connectors.github import mapping

ISSUE_ACTIONS = frozenset(
    {
        "opened", "edited", "closed", "reopened", "assigned", "unassigned",
        "labeled", "unlabeled", "milestoned", "demilestoned",
    }
)  # fmt: skip
GONE_ACTIONS = frozenset({"deleted", "transferred"})


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
    headers: Mapping[str, str], body: bytes, scope: str, rules: mapping.StatusRules
) -> list[RemoteHint]:
    """Hints from an ``issues`` delivery; ``ping``, other events and pull requests give none."""
    if header(headers, "X-GitHub-Event") != "issues":
        return []
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    issue = payload.get("issue") if isinstance(payload, dict) else None
    action = payload.get("action") if isinstance(payload, dict) else None
    # ``issues`` events fire for pull requests too (milestoned, labeled); they are not planbridge's.
    if not isinstance(issue, dict) or "pull_request" in issue or "number" not in issue:
        return []
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
