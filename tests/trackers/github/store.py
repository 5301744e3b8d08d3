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
class Comment:
    id: int
    body: str
    user: str
    created_at: datetime
    updated_at: datetime


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
    comments: list[Comment] = field(default_factory=list)


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
    # An archived repository is read-only: every write answers 403.
    archived: bool = False
    issues: dict[int, Issue] = field(default_factory=dict)
    milestones: dict[int, Milestone] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    deleted_numbers: set[int] = field(default_factory=set)
    # Issues moved to another repository: number here -> (repository id, number there).
    transferred: dict[int, tuple[int, int]] = field(default_factory=dict)
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
        """The full repository, every field GitHub's description requires (``full-repository``)."""
        api = self.repo_url(repo)
        web = f"{self.web_root}/{repo.full_name}"
        host = self.web_root.split("://", 1)[-1]
        created = github_time(repo.created_at)
        open_issues = sum(
            1
            for issue in repo.issues.values()
            if issue.state == "open" and not issue.is_pull_request
        )
        templated = {
            "archive_url": "{archive_format}{/ref}",
            "assignees_url": "{/user}",
            "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}",
            "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}",
            "labels_url": "/labels{/name}",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}",
            "statuses_url": "/statuses/{sha}",
            "trees_url": "/git/trees{/sha}",
        }
        plain = [
            "contributors",
            "deployments",
            "downloads",
            "events",
            "forks",
            "hooks",
            "languages",
            "merges",
            "stargazers",
            "subscribers",
            "subscription",
            "tags",
            "teams",
        ]
        rendered: dict[str, Any] = {
            "id": repo.id,
            "node_id": f"R_kgDO{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": True,
            "owner": self.user(repo.owner),
            "html_url": web,
            "description": None,
            "fork": False,
            "url": api,
        }
        for name, suffix in templated.items():
            if name == "archive_url":
                rendered[name] = f"{api}/{suffix}"
            elif name == "assignees_url":
                rendered[name] = f"{api}/assignees{suffix}"
            else:
                rendered[name] = f"{api}{suffix}"
        for name in plain:
            rendered[f"{name}_url"] = f"{api}/{name}"
        rendered.update(
            {
                "git_url": f"git://{host}/{repo.full_name}.git",
                "ssh_url": f"git@{host.split(':')[0]}:{repo.full_name}.git",
                "clone_url": f"{web}.git",
                "svn_url": web,
                "mirror_url": None,
                "homepage": None,
                "language": None,
                "forks_count": 0,
                "forks": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "watchers": 0,
                "subscribers_count": 1,
                "network_count": 0,
                "size": 0,
                "default_branch": "main",
                "open_issues_count": open_issues,
                "open_issues": open_issues,
                "is_template": False,
                "topics": [],
                "has_issues": repo.has_issues,
                "has_projects": True,
                "has_wiki": False,
                "has_pages": False,
                "has_downloads": True,
                "has_discussions": False,
                "archived": repo.archived,
                "disabled": False,
                "visibility": "private",
                "license": None,
                "allow_forking": False,
                "web_commit_signoff_required": False,
                "pushed_at": created,
                "created_at": created,
                "updated_at": created,
                "permissions": {
                    "admin": False,
                    "maintain": False,
                    "push": True,
                    "triage": True,
                    "pull": True,
                },
            }
        )
        return rendered

    def comment(self, repo: Repository, issue: Issue, comment: Comment) -> dict[str, Any]:
        api = self.repo_url(repo)
        return {
            "id": comment.id,
            "node_id": f"IC_kwDO{comment.id}",
            "url": f"{api}/issues/comments/{comment.id}",
            "html_url": f"{self.web_root}/{repo.full_name}/issues/{issue.number}"
            f"#issuecomment-{comment.id}",
            "issue_url": f"{api}/issues/{issue.number}",
            "body": comment.body,
            "user": self.user(comment.user),
            "created_at": github_time(comment.created_at),
            "updated_at": github_time(comment.updated_at),
            "author_association": "MEMBER",
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
            "comments": len(issue.comments),
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
        given = hook.get("config") or {}
        config = {key: value for key, value in given.items() if key != "secret"}
        if "secret" in given:
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
            "created_at": hook["created_at"],
            "updated_at": hook["created_at"],
            "last_response": {"code": None, "status": "unused", "message": None},
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
