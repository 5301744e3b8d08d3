"""The contract-suite harness for Jira: the emulator on loopback, in Cloud or Data Center mode."""

from __future__ import annotations

import uuid
from typing import Any

from connectors.base import RemoteRef, RemoteStatus
from connectors.jira import JiraConfig, JiraConnector
from tests.trackers.faults import EmulatorClock
from tests.trackers.jira.app import JiraEmulator
from tests.trackers.jira.store import STATUSES, Issue
from tests.trackers.server import EMULATOR_ADDRESSES, LoopbackServer

WEBHOOK_SECRET = "jira-webhook-secret"
EPIC_LINK_FIELD = "customfield_10006"
# The workflow status a person picks for each planbridge status, and the resolution Jira sets.
PERSON_MOVES: dict[RemoteStatus, tuple[str, str | None]] = {
    RemoteStatus.todo: ("To Do", None),
    RemoteStatus.in_progress: ("In Progress", None),
    RemoteStatus.blocked: ("Blocked", None),
    RemoteStatus.done: ("Done", "Done"),
    RemoteStatus.dropped: ("Done", "Won't Do"),
}


class JiraHarness:
    cloud = True

    def __init__(self, **emulator_options: Any) -> None:
        self.name = "jira-cloud" if self.cloud else "jira-dc"
        self.clock = EmulatorClock()
        self.emulator = JiraEmulator(cloud=self.cloud, clock=self.clock, **emulator_options)
        self.emulator.webhook_secret = WEBHOOK_SECRET
        self.server = LoopbackServer(self.emulator, date_header=False).start()
        self.emulator.base_url = self.server.url
        self.store = self.emulator.store

    # -- connectors ----------------------------------------------------------------------------

    def settings(self, **overrides: Any) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "base_url": self.server.url,
            "scope": self.store.project_key,
            "deployment": "cloud" if self.cloud else "datacenter",
            "webhook_secret": WEBHOOK_SECRET,
            "status_overrides": {"Blocked": "blocked"},
            "index_lag_seconds": self.store.index_lag_seconds,
            "timeout_seconds": 5,
        }
        if self.cloud:
            settings.update(
                email=self.emulator.credentials[0], api_token=self.emulator.credentials[1]
            )
        else:
            settings.update(
                personal_access_token=self.emulator.credentials, epic_link_field=EPIC_LINK_FIELD
            )
        settings.update(overrides)
        return settings

    def connector(self, **overrides: Any) -> JiraConnector:
        settings = {"address_policy": EMULATOR_ADDRESSES, **self.settings(**overrides)}
        return JiraConnector(JiraConfig.model_validate(settings))

    def connector_with_bad_credentials(self) -> JiraConnector:
        if self.cloud:
            return self.connector(api_token="not-the-token")
        return self.connector(personal_access_token="not-the-token")

    # -- acting as a person --------------------------------------------------------------------

    def _issue(self, ref: RemoteRef) -> Issue:
        issue = self.store.issue(ref.external_id)
        if issue is None:
            raise LookupError(ref)
        return issue

    def person(self) -> Any:
        return self.store.users[1]

    def person_sets_status(self, ref: RemoteRef, status: RemoteStatus) -> None:
        name, resolution = PERSON_MOVES[status]
        self.emulator.person_transition(self._issue(ref), name, resolution, user=self.person())

    def person_edits_title(self, ref: RemoteRef, title: str) -> None:
        self.person_edits(ref, summary=title)

    def person_edits(self, ref: RemoteRef, **values: Any) -> None:
        """Edit issue attributes as a person in the UI (summary, duedate, labels, ...)."""
        from tests.trackers.jira.fields import changelog_items

        self.store.change(
            self._issue(ref),
            lambda issue: changelog_items(self.store, issue, values),
            user=self.person(),
        )

    def person_assigns(self, ref: RemoteRef, identity: str | None) -> None:
        user = None
        for candidate in self.store.users:
            if identity in (candidate.account_id, candidate.name):
                user = candidate
        self.person_edits(ref, assignee=user)

    # -- faults, time, counting ------------------------------------------------------------------

    def inject_fault(self, fault: str, count: int = 1, **options: Any) -> None:
        self.emulator.faults.inject(fault, count, **options)

    def object_count(self) -> int:
        return self.store.planbridge_issue_count()

    def signed_webhook_for(self, ref: RemoteRef) -> tuple[dict[str, str], bytes]:
        return self.emulator.delivery_for(int(ref.external_id), WEBHOOK_SECRET)

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def seed_items(self, count: int) -> list[RemoteRef]:
        """Issues as a connector create leaves them (marker labels), straight into the store."""
        refs = []
        for number in range(count):
            item_id = uuid.uuid4()

            def build(
                issue_id: int, key: str, now: Any, number: int = number, item_id: Any = item_id
            ) -> Issue:
                description: Any = (
                    {
                        "type": "doc",
                        "version": 1,
                        "content": [
                            {
                                "type": "paragraph",
                                "content": [{"type": "text", "text": f"Seeded {number}"}],
                            }
                        ],
                    }
                    if self.cloud
                    else f"Seeded {number}"
                )
                return Issue(
                    issue_id,
                    key,
                    self.store.project_key,
                    "Task",
                    f"Seeded item {number}",
                    description,
                    STATUSES[0],
                    now,
                    now,
                    labels=("planbridge", f"planbridge-{item_id}"),
                )

            issue = self.store.create(build)
            refs.append(
                RemoteRef(str(issue.id), issue.key, f"{self.server.url}/browse/{issue.key}")
            )
        return refs

    def write_count(self) -> int:
        return sum(1 for request in self.emulator.requests if request.is_write)

    def close(self) -> None:
        self.server.stop()
        self.emulator.sender.close()


class JiraCloudHarness(JiraHarness):
    cloud = True


class JiraDataCenterHarness(JiraHarness):
    cloud = False
