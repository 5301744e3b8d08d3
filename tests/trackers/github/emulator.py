"""The GitHub emulator's behaviour: issue and milestone changes, their webhooks, a person's hand.

The HTTP surface is in api.py; both the API and tests acting as a person call this module, so
a change made "in the browser" and one made through the REST API leave the same traces (updated_at,
webhook deliveries).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tests.trackers.faults import EmulatorClock, FaultInjector, WindowLimiter
from tests.trackers.github.limits import PointsWindow
from tests.trackers.github.store import (
    Comment,
    Formats,
    Issue,
    Label,
    Milestone,
    Repository,
    github_time,
)
from tests.trackers.github.webhooks import WebhookSender, build_delivery

ISSUE_STATE_REASONS = {"completed", "not_planned", "duplicate", "reopened"}
PERSON = "octo-person"


class ValidationError(Exception):
    """A 422 in GitHub's format: resource, field, code."""

    def __init__(self, resource: str, field_name: str, code: str, value: Any = None) -> None:
        super().__init__(f"{resource}.{field_name}: {code}")
        self.resource, self.field_name, self.code, self.value = resource, field_name, code, value


class GitHubEmulator:
    """One GitHub with one repository, its tokens, users, limits, faults and webhooks."""

    def __init__(
        self,
        *,
        owner: str = "planbridge-test",
        repo: str = "roadmap",
        tokens: Iterable[str] = ("ghp_emulator_token",),
        users: Iterable[str] = ("octocat", "hubot", PERSON),
        api_prefix: str = "",
        webhook_secret: str = "It's a Secret to Everybody",
        clock: EmulatorClock | None = None,
    ) -> None:
        self.clock = clock or EmulatorClock()
        self.faults = FaultInjector()
        self.tokens = {token: "octocat" for token in tokens}
        self.users = set(users)
        self.api_prefix = api_prefix
        self.webhook_secret = webhook_secret
        self.lock = threading.RLock()
        self._ids = itertools.count(5_000_001)
        self.repository = Repository(next(self._ids), owner, repo, self.clock.now())
        # Every repository this GitHub holds, by lower-cased full name (GitHub ignores case).
        self.repositories = {self.repository.full_name.lower(): self.repository}
        self.formats = Formats("http://127.0.0.1" + api_prefix, "http://127.0.0.1")
        self.webhooks = WebhookSender()
        # GitHub's documented limits: 5,000 requests per hour per token (a window that starts with
        # the first request), and 80 content-creating requests per minute and 500 per hour.
        self.primary_limit = 5000
        self.primary_windows: dict[str, tuple[float, int]] = {}
        # Content-creating requests (POST, PATCH, PUT, DELETE): 80 a minute and 500 an hour.
        self.secondary_limits = [
            WindowLimiter(self.clock, 80, 60),
            WindowLimiter(self.clock, 500, 3600),
        ]
        # 900 points a minute per endpoint: GET 1 point, POST, PATCH, PUT and DELETE 5.
        self.endpoint_points = PointsWindow(self.clock, 900, 60)
        # (method, path with query, status) of every request, for benchmarks and cost assertions.
        self.request_log: list[tuple[str, str, int]] = []

    def set_root(self, root_url: str) -> None:
        """Where the emulator is served; ``url`` fields in answers are built from it."""
        self.formats = Formats(root_url + self.api_prefix, root_url)

    # -- reads --------------------------------------------------------------------------------

    def issue(self, number: int, repo: Repository | None = None) -> Issue:
        return (repo or self.repository).issues[number]

    def issue_json(self, number: int, repo: Repository | None = None) -> dict[str, Any]:
        with self.lock:
            target = repo or self.repository
            return self.formats.issue(target, self.issue(number, target))

    def repository_named(self, full_name: str) -> Repository | None:
        return self.repositories.get(full_name.lower())

    def repository_by_id(self, repository_id: int) -> Repository | None:
        return next((r for r in self.repositories.values() if r.id == repository_id), None)

    def add_repository(self, owner: str, name: str) -> Repository:
        """Another repository on this GitHub, reachable with the same token."""
        with self.lock:
            repo = Repository(next(self._ids), owner, name, self.clock.now())
            self.repositories[repo.full_name.lower()] = repo
            return repo

    # -- changes shared by the API and the person API ----------------------------------------

    def create_issue(
        self, data: dict[str, Any], author: str, repo: Repository | None = None
    ) -> Issue:
        target = repo or self.repository
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValidationError("Issue", "title", "missing_field")
        assignees = self._valid_assignees(data)
        milestone = self._valid_milestone(data.get("milestone"), target)
        with self.lock:
            now = self.clock.now()
            target.last_number += 1
            issue = Issue(
                id=next(self._ids),
                number=target.last_number,
                title=title,
                body=data.get("body"),
                user=author,
                created_at=now,
                updated_at=now,
                labels=self._ensure_labels(data.get("labels") or [], target),
                assignees=assignees or [],
                milestone=milestone,
            )
            target.issues[issue.number] = issue
        self._emit(issue, "opened", repo=target)
        return issue

    def update_issue(
        self, number: int, data: dict[str, Any], sender: str, repo: Repository | None = None
    ) -> Issue:
        target = repo or self.repository
        issue = self.issue(number, target)
        state = data.get("state", issue.state)
        if state not in ("open", "closed"):
            raise ValidationError("Issue", "state", "invalid", state)
        reason = data.get("state_reason")
        if reason is not None and reason not in ISSUE_STATE_REASONS:
            raise ValidationError("Issue", "state_reason", "invalid", reason)
        if "title" in data and (not isinstance(data["title"], str) or not data["title"].strip()):
            raise ValidationError("Issue", "title", "missing_field")
        assignees = self._valid_assignees(data)
        milestone = (
            self._valid_milestone(data["milestone"], target)
            if "milestone" in data
            else issue.milestone
        )
        actions: list[tuple[str, dict[str, Any]]] = []
        with self.lock:
            changes: dict[str, Any] = {}
            for name in ("title", "body"):
                if name in data and data[name] != getattr(issue, name):
                    changes[name] = {"from": getattr(issue, name)}
                    setattr(issue, name, data[name])
            if changes:
                actions.append(("edited", {"changes": changes}))
            if state != issue.state:
                # state_reason is "ignored unless state is changed" (GitHub's Update-an-issue docs).
                issue.state = state
                if state == "closed":
                    issue.state_reason = reason or "completed"
                    issue.closed_at = self.clock.now()
                    actions.append(("closed", {}))
                else:
                    issue.state_reason = "reopened"
                    issue.closed_at = None
                    actions.append(("reopened", {}))
            if "labels" in data:
                wanted = self._ensure_labels(data["labels"] or [], target)
                actions += self._set_members(
                    issue.labels, wanted, "labeled", "unlabeled", "label", target
                )
            if assignees is not None:
                actions += self._set_members(
                    issue.assignees, assignees, "assigned", "unassigned", "assignee", target
                )
            if milestone != issue.milestone:
                previous = issue.milestone
                issue.milestone = milestone
                action = "milestoned" if milestone is not None else "demilestoned"
                shown = milestone if milestone is not None else previous
                assert shown is not None
                extra = {"milestone": self.formats.milestone(target, target.milestones[shown])}
                actions.append((action, extra))
            if actions:
                issue.updated_at = self.clock.now()
        for action, extra in actions:
            self._emit(issue, action, sender, repo=target, **extra)
        return issue

    def create_milestone(self, data: dict[str, Any], author: str) -> Milestone:
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValidationError("Milestone", "title", "missing_field")
        with self.lock:
            if any(existing.title == title for existing in self.repository.milestones.values()):
                raise ValidationError("Milestone", "title", "already_exists", title)
            now = self.clock.now()
            number = max(self.repository.milestones, default=0) + 1
            milestone = Milestone(
                next(self._ids), number, title, data.get("description"), author, now, now
            )
            self._apply_milestone_fields(milestone, data)
            self.repository.milestones[number] = milestone
            return milestone

    def update_milestone(self, number: int, data: dict[str, Any]) -> Milestone:
        with self.lock:
            milestone = self.repository.milestones[number]
            if "title" in data:
                milestone.title = data["title"]
            if "description" in data:
                milestone.description = data["description"]
            self._apply_milestone_fields(milestone, data)
            milestone.updated_at = self.clock.now()
            return milestone

    def add_hook(self, data: dict[str, Any]) -> int:
        config = data.get("config") or {}
        if not isinstance(config, dict) or not config.get("url"):
            raise ValidationError("Hook", "url", "missing_field")
        with self.lock:
            hook_id = next(self._ids)
            self.repository.hooks[hook_id] = {**data, "created_at": github_time(self.clock.now())}
            self.webhooks.url = str(config["url"])
            if config.get("secret"):
                self.webhook_secret = str(config["secret"])
            return hook_id

    # -- a person in the browser ---------------------------------------------------------------

    def person_closes(
        self, number: int, state_reason: str = "completed", repo: Repository | None = None
    ) -> None:
        closed = {"state": "closed", "state_reason": state_reason}
        self.update_issue(number, closed, PERSON, repo)

    def person_reopens(self, number: int) -> None:
        self.update_issue(number, {"state": "open"}, PERSON)

    def person_sets_labels(self, number: int, labels: list[str]) -> None:
        self.update_issue(number, {"labels": labels}, PERSON)

    def person_assigns(self, number: int, logins: list[str]) -> None:
        self.update_issue(number, {"assignees": logins}, PERSON)

    def person_edits_title(self, number: int, title: str) -> None:
        self.update_issue(number, {"title": title}, PERSON)

    def person_deletes(self, number: int, repo: Repository | None = None) -> None:
        target = repo or self.repository
        with self.lock:
            issue = target.issues.pop(number)
            target.deleted_numbers.add(number)
        self._emit(issue, "deleted", PERSON, target)

    def person_transfers(self, number: int, target: Repository) -> Issue:
        """Move an issue to ``target``: a new number there, a 301 from the old address here."""
        with self.lock:
            source = self.repository
            issue = source.issues.pop(number)
            target.last_number += 1
            moved = Issue(
                id=issue.id,
                number=target.last_number,
                title=issue.title,
                body=issue.body,
                user=issue.user,
                created_at=issue.created_at,
                updated_at=self.clock.now(),
                state=issue.state,
                state_reason=issue.state_reason,
                # Labels and milestones stay behind unless the target has them (GitHub's docs).
                labels=[name for name in issue.labels if name in target.labels],
                assignees=list(issue.assignees),
                closed_at=issue.closed_at,
                comments=issue.comments,
            )
            target.issues[moved.number] = moved
            source.transferred[number] = (target.id, moved.number)
            changes = {
                "new_issue": self.formats.issue(target, moved),
                "new_repository": self.formats.repository(target),
            }
        self._emit(issue, "transferred", PERSON, changes=changes)
        return moved

    def person_archives(self) -> None:
        """Archive the repository: read-only from now on."""
        with self.lock:
            self.repository.archived = True

    def person_comments(self, number: int, body: str) -> Comment:
        with self.lock:
            now = self.clock.now()
            comment = Comment(next(self._ids), body, PERSON, now, now)
            issue = self.issue(number)
            issue.comments.append(comment)
            issue.updated_at = now
            return comment

    def add_pull_request(self, title: str, labels: Iterable[str] = ()) -> Issue:
        """Pull requests are issues too: they share numbers and show up in issue lists."""
        with self.lock:
            now = self.clock.now()
            self.repository.last_number += 1
            pull = Issue(
                next(self._ids),
                self.repository.last_number,
                title,
                "A change.",
                "hubot",
                now,
                now,
                labels=self._ensure_labels(list(labels)),
                is_pull_request=True,
            )
            self.repository.issues[pull.number] = pull
            return pull

    def seed_issue(self, title: str, body: str, labels: list[str], updated_at: datetime) -> Issue:
        """Store an issue directly (no request, no webhook), for tests that need thousands."""
        with self.lock:
            self.repository.last_number += 1
            issue = Issue(
                next(self._ids),
                self.repository.last_number,
                title,
                body,
                "octocat",
                updated_at,
                updated_at,
                labels=self._ensure_labels(labels),
            )
            self.repository.issues[issue.number] = issue
            return issue

    # -- internals ---------------------------------------------------------------------------

    def _valid_assignees(self, data: dict[str, Any]) -> list[str] | None:
        if "assignees" in data:
            logins = list(data["assignees"] or [])
        elif "assignee" in data:
            logins = [data["assignee"]] if data["assignee"] else []
        else:
            return None
        for login in logins:
            if login not in self.users:
                raise ValidationError("Issue", "assignees", "invalid", login)
        return logins

    def _valid_milestone(self, number: Any, repo: Repository | None = None) -> int | None:
        if number is None:
            return None
        if not isinstance(number, int) or number not in (repo or self.repository).milestones:
            raise ValidationError("Issue", "milestone", "invalid", number)
        return number

    def _ensure_labels(self, names: list[Any], repo: Repository | None = None) -> list[str]:
        # GitHub creates a label given by name that the repository does not have yet.
        labels = (repo or self.repository).labels
        result: list[str] = []
        for name in names:
            name = name["name"] if isinstance(name, dict) else str(name)
            if name not in labels:
                labels[name] = Label(next(self._ids), name)
            if name not in result:
                result.append(name)
        return result

    def _set_members(
        self,
        current: list[str],
        wanted: list[str],
        added: str,
        removed: str,
        kind: str,
        repo: Repository,
    ) -> list[tuple[str, dict[str, Any]]]:
        actions: list[tuple[str, dict[str, Any]]] = []
        for name in [name for name in current if name not in wanted]:
            current.remove(name)
            actions.append((removed, {kind: self._member_json(kind, name, repo)}))
        for name in [name for name in wanted if name not in current]:
            current.append(name)
            actions.append((added, {kind: self._member_json(kind, name, repo)}))
        return actions

    def _member_json(self, kind: str, name: str, repo: Repository) -> dict[str, Any]:
        if kind == "label":
            return self.formats.label(repo, repo.labels[name])
        return self.formats.user(name)

    def _apply_milestone_fields(self, milestone: Milestone, data: dict[str, Any]) -> None:
        if "due_on" in data:
            due = data["due_on"]
            milestone.due_on = (
                None if due is None else datetime.fromisoformat(due.replace("Z", "+00:00"))
            )
        if data.get("state") in ("open", "closed"):
            milestone.state = data["state"]
            milestone.closed_at = self.clock.now() if milestone.state == "closed" else None

    def _emit(
        self,
        issue: Issue,
        action: str,
        sender: str = "octocat",
        repo: Repository | None = None,
        **extra: Any,
    ) -> None:
        if issue.is_pull_request:
            return
        target = repo or self.repository
        with self.lock:
            payload: dict[str, Any] = {
                "action": action,
                "issue": self.formats.issue(target, issue),
            }
            payload.update(extra)
            payload["repository"] = self.formats.repository(target)
            payload["sender"] = self.formats.user(sender)
            hook_id = next(iter(target.hooks), 0)
        self.webhooks.send(build_delivery("issues", payload, self.webhook_secret, hook_id))
