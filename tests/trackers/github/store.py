"""The GitHub emulator's state and GitHub's JSON formats for it (issues, milestones, repository).

Formats follow GitHub's REST reference and the payloads in tests/fixtures/github-webhooks:
PyGithub builds later request paths from the ``url`` fields, so those carry the API root and prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DOCS = "https://docs.github.com/rest"


def github_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Issue:
    id: int
    number: int
    title: str
    body: str | None
    user: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    milestone: int | None = None
    closed_at: datetime | None = None
    is_pull_request: bool = False


@dataclass
class Milestone:
    id: int
    number: int
    title: str
    description: str | None
    creator: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    due_on: datetime | None = None
    closed_at: datetime | None = None


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Repository:
    id: int
    owner: str
    name: str
    created_at: datetime
    has_issues: bool = True
    issues: dict[int, Issue] = field(default_factory=dict)
    milestones: dict[int, Milestone] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    deleted_numbers: set[int] = field(default_factory=set)
    # Issues and pull requests share one number sequence, as on GitHub.
    last_number: int = 0
    hooks: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class Formats:
    """Renders store objects exactly as GitHub's REST API and webhooks write them."""

    def __init__(self, api_root: str, web_root: str) -> None:
        self.api_root = api_root.rstrip("/")
        self.web_root = web_root.rstrip("/")

    def user(self, login: str) -> dict[str, Any]:
        user_id = sum(ord(character) * 31**index for index, character in enumerate(login)) % 10**8
        api = f"{self.api_root}/users/{login}"
        return {
            "login": login,
            "id": user_id,
            "node_id": f"MDQ6VXNlcj{user_id}",
            "avatar_url": f"{self.web_root}/avatars/u/{user_id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.web_root}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": "User",
            "site_admin": False,
        }

    def repo_url(self, repo: Repository) -> str:
        return f"{self.api_root}/repos/{repo.full_name}"

    def repository(self, repo: Repository) -> dict[str, Any]:
        api = self.repo_url(repo)
        created = github_time(repo.created_at)
        return {
            "id": repo.id,
            "node_id": f"R_kgDO{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": True,
            "owner": self.user(repo.owner),
            "html_url": f"{self.web_root}/{repo.full_name}",
            "description": None,
            "fork": False,
            "url": api,
            "hooks_url": f"{api}/hooks",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "assignees_url": f"{api}/assignees{{/user}}",
            "labels_url": f"{api}/labels{{/name}}",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "created_at": created,
            "updated_at": created,
            "pushed_at": created,
            "has_issues": repo.has_issues,
            "open_issues_count": sum(1 for issue in repo.issues.values() if issue.state == "open"),
            "default_branch": "main",
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            },
        }

    def label(self, repo: Repository, label: Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": f"LA_kwDO{label.id}",
            "url": f"{self.repo_url(repo)}/labels/{label.name}",
            "name": label.name,
            "color": label.color,
            "default": False,
            "description": label.description,
        }

    def milestone(self, repo: Repository, milestone: Milestone) -> dict[str, Any]:
        api = f"{self.repo_url(repo)}/milestones/{milestone.number}"
        in_milestone = [i for i in repo.issues.values() if i.milestone == milestone.number]
        return {
            "url": api,
            "html_url": f"{self.web_root}/{repo.full_name}/milestone/{milestone.number}",
            "labels_url": f"{api}/labels",
            "id": milestone.id,
            "node_id": f"MI_kwDO{milestone.id}",
            "number": milestone.number,
            "title": milestone.title,
            "description": milestone.description,
            "creator": self.user(milestone.creator),
            "open_issues": sum(1 for issue in in_milestone if issue.state == "open"),
            "closed_issues": sum(1 for issue in in_milestone if issue.state == "closed"),
            "state": milestone.state,
            "created_at": github_time(milestone.created_at),
            "updated_at": github_time(milestone.updated_at),
            "due_on": github_time(milestone.due_on),
            "closed_at": github_time(milestone.closed_at),
        }

    def issue(self, repo: Repository, issue: Issue) -> dict[str, Any]:
        repo_api = self.repo_url(repo)
        api = f"{repo_api}/issues/{issue.number}"
        kind = "pull" if issue.is_pull_request else "issues"
        assignees = [self.user(login) for login in issue.assignees]
        milestone = repo.milestones.get(issue.milestone) if issue.milestone is not None else None
        rendered: dict[str, Any] = {
            "url": api,
            "repository_url": repo_api,
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.web_root}/{repo.full_name}/{kind}/{issue.number}",
            "id": issue.id,
            "node_id": f"I_kwDO{issue.id}",
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.user),
            "labels": [self.label(repo, repo.labels[name]) for name in issue.labels],
            "state": issue.state,
            "locked": False,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": self.milestone(repo, milestone) if milestone is not None else None,
            "comments": 0,
            "created_at": github_time(issue.created_at),
            "updated_at": github_time(issue.updated_at),
            "closed_at": github_time(issue.closed_at),
            "author_association": "MEMBER",
            "active_lock_reason": None,
            "body": issue.body,
            "state_reason": issue.state_reason,
        }
        if issue.is_pull_request:
            pulls = f"{repo_api}/pulls/{issue.number}"
            rendered["pull_request"] = {
                "url": pulls,
                "html_url": f"{self.web_root}/{repo.full_name}/pull/{issue.number}",
                "diff_url": f"{self.web_root}/{repo.full_name}/pull/{issue.number}.diff",
                "patch_url": f"{self.web_root}/{repo.full_name}/pull/{issue.number}.patch",
                "merged_at": None,
            }
        return rendered

    def hook(self, repo: Repository, hook_id: int, hook: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.repo_url(repo)}/hooks/{hook_id}"
        config = {key: value for key, value in hook["config"].items() if key != "secret"}
        if "secret" in hook["config"]:
            config["secret"] = "********"  # GitHub never echoes the secret
        return {
            "type": "Repository",
            "id": hook_id,
            "name": "web",
            "active": hook.get("active", True),
            "events": hook.get("events", ["push"]),
            "config": config,
            "url": api,
            "test_url": f"{api}/test",
            "ping_url": f"{api}/pings",
            "deliveries_url": f"{api}/deliveries",
        }


def error_body(
    message: str, documentation_url: str = DOCS, status: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": documentation_url}
    if status is not None:
        body["status"] = str(
            status
        )  # GitHub added the status, as a string, to error bodies in 2023
    return body


def validation_failed(
    resource: str, field_name: str, code: str, value: Any = None
) -> dict[str, Any]:
    """GitHub's 422 body: "Validation Failed" with one error naming resource, field and code."""
    error: dict[str, Any] = {"resource": resource, "field": field_name, "code": code}
    if value is not None:
        error["value"] = value
    body = error_body("Validation Failed", f"{DOCS}/issues/issues", 422)
    body["errors"] = [error]
    return body
