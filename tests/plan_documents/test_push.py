"""Items an apply creates or changes are pushed by the sync engine like any other change."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from connectors.memory_store import MemoryTracker
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.plan_documents.documents import API, QUARTER, applied
from tests.sync.conftest import (  # noqa: F401  (the engine fixtures)
    context,
    create_memory_connection,
    run_until_idle,
    sync_engine,
)


def test_applied_items_reach_the_tracker_and_a_changed_title_is_pushed_again(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,  # noqa: F811
) -> None:
    store = uuid.uuid4().hex
    connection = create_memory_connection(client, tenant, store)
    for name, login in (("Ada Lovelace", "ada"), ("Grace Hopper", "grace")):
        body = {"name": name, "email": f"{login}@example.com", "identities": {"memory": login}}
        assert client.post(f"{API}/people", json=body, headers=tenant.headers).is_success
    document = QUARTER.replace(
        "  end_date: 2027-03-31\n", f"  end_date: 2027-03-31\n  connection: {connection['name']}\n"
    )
    applied(client, tenant, document)
    run_until_idle(sync_engine)
    tracker = MemoryTracker(store)
    pushed = {item.title: item for item in tracker.all_items() if item.kind == "item"}
    assert set(pushed) == {
        "Write the onboarding guide",
        "Record the welcome video",
        "Tag last quarter's tickets",
        "Fix the top three causes",
    }
    assert pushed["Record the welcome video"].assignee == "grace"

    renamed = document.replace("Write the onboarding guide", "Write the getting-started guide")
    applied(client, tenant, renamed)
    run_until_idle(sync_engine)
    titles = {item.title for item in tracker.all_items() if item.kind == "item"}
    assert "Write the getting-started guide" in titles
    assert "Write the onboarding guide" not in titles
    assert len(titles) == 4
