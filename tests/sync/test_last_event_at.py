"""``action_item.last_event_at`` is the time of the item's latest event after any mix of writers:
the API, the sync engine's push and pull, and scripted events written out of time order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.models import ActionItem, EventSource, ItemEvent
from app.models.planning import ItemStatus
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.execution.factories import record
from tests.sync.conftest import run_until_idle, seed


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _stored_and_latest(engine: Engine, workspace_id: uuid.UUID) -> list[tuple[Any, Any]]:
    """Per item of the workspace: (its ``last_event_at``, max ``at`` of its events)."""
    latest = (
        select(func.max(ItemEvent.at))
        .where(col(ItemEvent.item_id) == col(ActionItem.id))
        .correlate(ActionItem)
        .scalar_subquery()
    )
    with Session(engine) as session:
        rows = session.exec(
            select(ActionItem.last_event_at, latest).where(ActionItem.workspace_id == workspace_id)
        ).all()
    return [(_utc(stored), _utc(at)) for stored, at in rows]


def test_last_event_at_is_the_latest_event_after_mixed_writers(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine, engine: Engine
) -> None:
    seeded = seed(client, tenant, items=3)
    run_until_idle(sync_engine)  # pushed: sync events
    first, second, third = seeded.item_ids
    response = client.patch(
        f"/api/v1/items/{first}", json={"status": "in_progress"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    # Scripted events out of time order: one far in the future, then one back-dated before it
    # (the later time stays), and a back-dated one on an item whose latest event is newer.
    future = datetime.now(UTC) + timedelta(days=3)
    with Session(engine) as session:
        item = session.get(ActionItem, uuid.UUID(second))
        assert item is not None
        record(session, item, "planning", future, field="title")
        record(session, item, "status", future - timedelta(days=10))
        assert _utc(item.last_event_at) == future  # the loaded row follows the flush
        other = session.get(ActionItem, uuid.UUID(third))
        assert other is not None
        record(session, other, "status", datetime(2020, 1, 6, tzinfo=UTC))
        session.commit()
    # The tracker's change comes back through a pull.
    stored = next(s for s in seeded.tracker.all_items() if s.item_id == first)
    seeded.tracker.person_sets_status(str(stored.id), "done")
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))
    with Session(engine) as session:
        pulled = session.get(ActionItem, uuid.UUID(first))
        assert pulled is not None and pulled.status == ItemStatus.done
        sources = session.exec(
            select(ItemEvent.source).where(ItemEvent.item_id == uuid.UUID(first))
        ).all()
    assert EventSource.tracker in sources
    pairs = _stored_and_latest(engine, tenant.workspace_id)
    assert len(pairs) == 3
    assert all(stored is not None and stored == latest for stored, latest in pairs), pairs
    assert future in [stored for stored, _ in pairs]
