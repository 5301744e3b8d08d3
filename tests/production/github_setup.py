"""A GitHub connection on the GitHub emulator with a plan routed to it, through the real API.

Shared by the production tests and the bench scripts (webhook load, scale-out, faults), which drive
planbridge over HTTP; ``api`` is anything with ``post(path, json=..., headers=...)`` returning a
response with ``status_code`` and ``json()`` (a TestClient or an httpx.Client).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.trackers.github.harness import TOKEN as GITHUB_TOKEN
from tests.trackers.github.webhooks import sign

WEBHOOK_SECRET = "whsec-known-to-the-tests-0123456789"


@dataclass
class GitHubSetup:
    connection_id: str
    webhook_secret: str
    person_id: str
    plan_id: str
    goal_id: str
    item_ids: list[str] = field(default_factory=list)


def _created(api: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = api.post(path, json=body, headers=headers)
    assert response.status_code == 201, (path, response.status_code, response.text)
    created: dict[str, Any] = response.json()
    return created


def create_github_connection(
    api: Any,
    headers: dict[str, str],
    base_url: str,
    scope: str,
    *,
    token: str = GITHUB_TOKEN,
    webhook_secret: str = WEBHOOK_SECRET,
    name: str = "roadmap repo",
) -> dict[str, Any]:
    return _created(
        api,
        "/api/v1/connections",
        {
            "kind": "github",
            "name": name,
            "base_url": base_url,
            "scope": scope,
            "credentials": {"token": token},
            "webhook_secret": webhook_secret,
            "config": {"timeout_seconds": 5},
        },
        headers,
    )


def seed_plan(
    api: Any, headers: dict[str, str], connection_id: str, webhook_secret: str, items: int = 0
) -> GitHubSetup:
    """A person (GitHub login octocat), a plan routed to the connection, a goal, ``items`` items."""
    today = date.today()
    person = _created(
        api, "/api/v1/people", {"name": "Octo Cat", "identities": {"github": "octocat"}}, headers
    )
    plan = _created(
        api,
        "/api/v1/plans",
        {
            "name": "2027 Q1",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=90)).isoformat(),
            "default_connection_id": connection_id,
        },
        headers,
    )
    goal = _created(
        api,
        "/api/v1/goals",
        {"plan_id": plan["id"], "title": "Ship it", "owner_id": person["id"]},
        headers,
    )
    setup = GitHubSetup(connection_id, webhook_secret, person["id"], plan["id"], goal["id"])
    for index in range(items):
        setup.item_ids.append(add_item(api, headers, setup, f"Step {index}"))
    return setup


def add_item(api: Any, headers: dict[str, str], setup: GitHubSetup, title: str) -> str:
    item = _created(
        api,
        "/api/v1/items",
        {
            "goal_id": setup.goal_id,
            "title": title,
            "owner_id": setup.person_id,
            "due_date": (date.today() + timedelta(days=14)).isoformat(),
            "estimate_hours": 4,
        },
        headers,
    )
    item_id: str = item["id"]
    return item_id


def signed_issue_delivery(
    secret: str, delivery_id: str, issue_number: int, *, repository: str = "planbridge-test/roadmap"
) -> tuple[dict[str, str], bytes]:
    """Headers and body of an ``issues`` webhook as GitHub signs it."""
    owner, _, repo = repository.partition("/")
    payload = {
        "action": "edited",
        "issue": {
            "number": issue_number,
            "id": 9_000_000 + issue_number,
            "title": f"Issue {issue_number}",
            "state": "open",
            "labels": [],
            "updated_at": "2027-01-04T10:00:00Z",
        },
        "repository": {"name": repo, "full_name": repository, "owner": {"login": owner}},
        "sender": {"login": "octocat"},
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    sha256, sha1 = sign(secret, body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sha256,
        "X-Hub-Signature": sha1,
    }
    return headers, body
