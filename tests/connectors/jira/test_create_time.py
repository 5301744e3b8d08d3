"""What a create reports as "updated" must not hide the tracker's next change (clock skew)."""

from __future__ import annotations

import uuid
from datetime import date

from connectors.base import ItemSpec, RemoteStatus
from tests.trackers.jira.harness import JiraHarness


def test_a_change_right_after_the_create_is_newer_even_when_jiras_clock_is_behind(
    jira: JiraHarness,
) -> None:
    jira.advance_clock(-120)  # Jira's clock two minutes behind planbridge's
    connector = jira.connector()
    created = connector.create_item(
        ItemSpec(item_id=uuid.uuid4(), title="Hire", due_date=date(2027, 2, 1))
    )
    # An automation (or a quick person) moves the new issue at once.
    jira.person_sets_status(created.ref, RemoteStatus.in_progress)

    now = connector.fetch_item(created.ref)

    assert now is not None and now.status is RemoteStatus.in_progress
    # The engine drops a report older than what it stored from the create (sync/pull.py).
    assert now.updated_at > created.updated_at
