"""The GitHub emulator, served on loopback, as the contract suite's TrackerHarness."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from connectors.base import MARKER_LABEL, RemoteRef, RemoteStatus
from connectors.github import GitHubConfig, GitHubConnector
from connectors.github.mapping import body_with_marker, item_id_from_body
from tests.trackers.github.api import GitHubApi
from tests.trackers.github.emulator import GitHubEmulator
from tests.trackers.server import EMULATOR_ADDRESSES, LoopbackServer

TOKEN = "ghp_emulator_token"
IN_PROGRESS_LABEL = "in progress"
BLOCKED_LABEL = "blocked"


class GitHubHarness:
    name = "github"

    def __init__(self, api_prefix: str = "", webhook_url: str | None = None) -> None:
        self.emulator = GitHubEmulator(tokens=[TOKEN], api_prefix=api_prefix)
        self.emulator.webhooks.url = webhook_url
        self.server = LoopbackServer(GitHubApi(self.emulator).app, date_header=False)
        self.emulator.set_root(self.server.url)
        self.base_url = self.server.url + api_prefix
        self.server.start()
        # Pull requests share the issue list; one even carries the planbridge label.
        self.emulator.add_pull_request("Bump dependencies")
        self.emulator.add_pull_request("Refactor the sync engine", labels=[MARKER_LABEL])

    @property
    def scope(self) -> str:
        return self.emulator.repository.full_name

    def connector(self, **overrides: Any) -> GitHubConnector:
        settings: dict[str, Any] = {
            "base_url": self.base_url,
            "token": TOKEN,
            "scope": self.scope,
            "webhook_secret": self.emulator.webhook_secret,
            "in_progress_label": IN_PROGRESS_LABEL,
            "blocked_label": BLOCKED_LABEL,
            "timeout_seconds": 5,
            "address_policy": EMULATOR_ADDRESSES,
        }
        settings.update(overrides)
        return GitHubConnector(GitHubConfig.model_validate(settings))

    def connector_with_bad_credentials(self) -> GitHubConnector:
        return self.connector(token="ghp_not_a_token_the_emulator_knows")

    def person_sets_status(self, ref: RemoteRef, status: RemoteStatus) -> None:
        number = int(ref.external_id)
        issue = self.emulator.issue(number)
        labels = [name for name in issue.labels if name not in (IN_PROGRESS_LABEL, BLOCKED_LABEL)]
        if status is RemoteStatus.in_progress:
            labels.append(IN_PROGRESS_LABEL)
        elif status is RemoteStatus.blocked:
            labels.append(BLOCKED_LABEL)
        if labels != issue.labels:
            self.emulator.person_sets_labels(number, labels)
        if status is RemoteStatus.done:
            self.emulator.person_closes(number, "completed")
        elif status is RemoteStatus.dropped:
            self.emulator.person_closes(number, "not_planned")
        elif issue.state == "closed":
            self.emulator.person_reopens(number)

    def person_edits_title(self, ref: RemoteRef, title: str) -> None:
        self.emulator.person_edits_title(int(ref.external_id), title)

    def inject_fault(self, fault: str, count: int = 1, **options: Any) -> None:
        self.emulator.faults.inject(fault, count, **options)

    def object_count(self) -> int:
        with self.emulator.lock:
            issues = self.emulator.repository.issues.values()
            return sum(1 for issue in issues if item_id_from_body(issue.body) is not None)

    def signed_webhook_for(self, ref: RemoteRef) -> tuple[dict[str, str], bytes]:
        delivery = self.emulator.webhooks.latest_for(int(ref.external_id))
        if delivery is None:
            raise LookupError(f"no webhook delivery for issue {ref.external_id}")
        return dict(delivery.headers), delivery.body

    def advance_clock(self, seconds: float) -> None:
        self.emulator.clock.advance(seconds)

    def seed_items(self, count: int) -> list[RemoteRef]:
        """Issues as planbridge creates them, one second apart in the past, put in the store."""
        now = self.emulator.clock.now()
        refs = []
        for index in range(count):
            body = body_with_marker("Seeded for pagination.", uuid.uuid4())
            updated_at = now - timedelta(seconds=count - index)
            title = f"Seeded item {index}"
            issue = self.emulator.seed_issue(title, body, [MARKER_LABEL], updated_at)
            refs.append(RemoteRef(str(issue.number)))
        return refs

    def close(self) -> None:
        self.server.stop()
        self.emulator.webhooks.stop()
