"""The Jira emulator's state: projects, a workflow, issues, a lagging search index, change history.

Everything is in memory behind one lock: the ASGI app (uvicorn's thread) and the tests acting as a
person (the test thread) both change it. Timestamps come from the shared ``EmulatorClock``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.trackers.faults import EmulatorClock

# Jira's three fixed status categories (ids as in real payloads).
CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str
    # The global transition into this status (Jira lists it from every other status).
    transition_id: str


STATUSES = [
    Status("10000", "To Do", "new", "11"),
    Status("3", "In Progress", "indeterminate", "21"),
    Status("10001", "Blocked", "indeterminate", "41"),
    Status("10002", "Done", "done", "31"),
]
RESOLUTIONS = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002"}

# The fields on each transition's screen, by transition id, as Jira's default workflows have them.
# "simplified" (the Jira Software simplified workflow of team-managed projects): no transition has a
# screen; moving into Done sets the resolution "Done" by a post function, and nothing else can set
# one. "classic" (Jira's default "jira" workflow, company-managed and Data Center): the transition
# into Done shows the Resolve Issue Screen, which holds the resolution (defaulting to "Done").
WORKFLOW_SCREENS: dict[str, dict[str, tuple[str, ...]]] = {
    "simplified": {},
    "classic": {"31": ("resolution",)},
}
ISSUE_TYPES = {"Epic": "10000", "Task": "10001"}


@dataclass(frozen=True)
class User:
    account_id: str  # Cloud identity
    name: str  # Data Center username
    display_name: str
    email: str


@dataclass
class Issue:
    id: int
    key: str
    project: str
    issue_type: str
    summary: str
    description: Any  # ADF dict (Cloud) or wiki string (Data Center), as written
    status: Status
    created: datetime
    updated: datetime
    labels: tuple[str, ...] = ()
    assignee: User | None = None
    duedate: str | None = None
    parent_id: int | None = None  # Cloud parent, or the Data Center Epic Link
    resolution: str | None = None
    original_estimate_seconds: int | None = None
    deleted: bool = False

    def snapshot(self) -> Issue:
        return dataclasses.replace(self)


@dataclass(frozen=True)
class Change:
    """One change to an issue, the source of a webhook delivery."""

    issue_id: int
    event: str  # jira:issue_created / jira:issue_updated / jira:issue_deleted
    type_name: str  # issue_created, issue_generic, issue_assigned, issue_updated, issue_deleted
    user: User
    items: tuple[dict[str, Any], ...]
    at: datetime
    issue: Issue  # the issue as it was right after the change
    changelog_id: int


@dataclass
class JiraStore:
    clock: EmulatorClock
    cloud: bool = True
    project_key: str = "PB"
    project_name: str = "Planbridge"
    time_zone: str = "Europe/Berlin"
    # Cloud's search index: most changes are searchable within seconds (developer.atlassian.com
    # "Search after write with search and reconcile"); issues named in reconcileIssues at once.
    index_lag_seconds: float = 3.0
    workflow: str = "simplified"
    epic_link_field: str = "customfield_10006"
    users: list[User] = field(default_factory=list)
    # Called with every Change, outside the lock (webhook sending).
    on_change: Callable[[Change], None] | None = None

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.issues: dict[int, Issue] = {}
        self.keys: dict[str, int] = {}
        # Search sees a version only once its time has come: (visible at, snapshot) per issue.
        self.index: dict[int, list[tuple[datetime, Issue]]] = {}
        self.changes: list[Change] = []
        self.webhooks: list[dict[str, Any]] = []
        self.next_id = 10000
        self.next_number = 1
        self.next_changelog = 100
        if not self.users:
            self.users = [
                User(
                    "5b10ac8d82e05b22cc7d4ef5",
                    "planbridge-bot",
                    "Planbridge Bot",
                    "bot@example.com",
                ),
                User("5b10a2844c20165700ede21g", "alice", "Alice Example", "alice@example.com"),
                User("5b109f2e9729b51b54dc274d", "bob", "Bob Example", "bob@example.com"),
            ]
        self.api_user = self.users[0]

    # -- lookups -------------------------------------------------------------------------------

    def user(self, identity: dict[str, Any] | None) -> User | None:
        """The user an ``assignee`` value names: accountId on Cloud, name on Data Center."""
        if identity is None:
            return None
        wanted = identity.get("accountId") if self.cloud else identity.get("name")
        for user in self.users:
            if wanted and wanted in (user.account_id if self.cloud else user.name,):
                return user
        raise LookupError(wanted)

    def issue(self, id_or_key: str) -> Issue | None:
        with self.lock:
            issue_id = self.keys.get(id_or_key.upper())
            if issue_id is None and id_or_key.isdigit():
                issue_id = int(id_or_key)
            found = self.issues.get(issue_id) if issue_id is not None else None
            return found if found is not None and not found.deleted else None

    def status_named(self, name: str) -> Status:
        return next(status for status in STATUSES if status.name.casefold() == name.casefold())

    def screen_fields(self, status: Status) -> tuple[str, ...]:
        """The fields on the screen of the transition into ``status`` (empty: no screen)."""
        return WORKFLOW_SCREENS[self.workflow].get(status.transition_id, ())

    def now(self) -> datetime:
        # Jira answers in the user's zone, with milliseconds.
        moment = self.clock.now().astimezone(ZoneInfo(self.time_zone))
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    # -- changes -------------------------------------------------------------------------------

    def create(
        self, build: Callable[[int, str, datetime], Issue], user: User | None = None
    ) -> Issue:
        with self.lock:
            issue_id, key = self.next_id, f"{self.project_key}-{self.next_number}"
            self.next_id += 1
            self.next_number += 1
            issue = build(issue_id, key, self.now())
            self.issues[issue_id] = issue
            self.keys[key] = issue_id
            change = self._record(issue, "jira:issue_created", "issue_created", (), user)
        self._notify(change)
        return issue

    def change(
        self,
        issue: Issue,
        mutate: Callable[[Issue], list[dict[str, Any]]],
        user: User | None = None,
        type_name: str = "issue_updated",
    ) -> None:
        """Apply ``mutate`` (returns changelog items); records a change only if one happened."""
        with self.lock:
            items = mutate(issue)
            if not items:
                return
            issue.updated = self.now()
            if any(item["field"] == "status" for item in items):
                type_name = "issue_generic"
            elif [item["field"] for item in items] == ["assignee"]:
                type_name = "issue_assigned"
            change = self._record(issue, "jira:issue_updated", type_name, tuple(items), user)
        self._notify(change)

    def delete(self, issue: Issue, user: User | None = None) -> None:
        with self.lock:
            issue.deleted = True
            change = self._record(issue, "jira:issue_deleted", "issue_deleted", (), user)
        self._notify(change)

    def _record(
        self,
        issue: Issue,
        event: str,
        type_name: str,
        items: tuple[dict[str, Any], ...],
        user: User | None,
    ) -> Change:
        snapshot = issue.snapshot()
        visible_at = self.clock.now() + timedelta(seconds=self.index_lag_seconds)
        versions = self.index.setdefault(issue.id, [])
        versions.append((visible_at, snapshot))
        self.next_changelog += 1
        change = Change(
            issue.id,
            event,
            type_name,
            user or self.api_user,
            items,
            self.clock.now(),
            snapshot,
            self.next_changelog,
        )
        self.changes.append(change)
        return change

    def _notify(self, change: Change) -> None:
        if self.on_change is not None:
            self.on_change(change)

    # -- search --------------------------------------------------------------------------------

    def searchable(self, reconcile: frozenset[int] = frozenset()) -> list[Issue]:
        """What the search index shows now: each issue's latest version whose lag has passed, and
        the current version of every issue named in ``reconcile`` (read-after-write)."""
        now = self.clock.now()
        visible: list[Issue] = []
        with self.lock:
            for issue_id, versions in self.index.items():
                ready = [version for moment, version in versions if moment <= now]
                if len(ready) > 1:  # older versions can never be shown again
                    del versions[: len(ready) - 1]
                if issue_id in reconcile and versions:
                    ready = [versions[-1][1]]
                if ready and not ready[-1].deleted:
                    visible.append(ready[-1])
        return visible

    def existing_issues(self) -> frozenset[str]:
        """The keys and ids of the issues that exist now (not the index's view): what a JQL
        ``key`` clause may name."""
        with self.lock:
            live = [issue for issue in self.issues.values() if not issue.deleted]
        return frozenset(name for issue in live for name in (issue.key.upper(), str(issue.id)))

    def latest_change(self, issue_id: int) -> Change | None:
        with self.lock:
            for change in reversed(self.changes):
                if change.issue_id == issue_id:
                    return change
        return None

    def planbridge_issue_count(self) -> int:
        with self.lock:
            return sum(
                1
                for issue in self.issues.values()
                if not issue.deleted and "planbridge" in issue.labels
            )
