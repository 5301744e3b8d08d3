"""One definition of "needs a push": health API, /metrics, dashboard and engine agree."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import ActionItem, Connection, ExternalLink, Goal
from sync.engine import needs_push_conditions
from tests.conftest import Tenant
from tests.dashboard.seed import seed_plan

# Each item's link as the engine would have left it: its fields, whether the item's revision is
# ahead of the one pushed, and whether it needs a push.
LINKS = {
    "not created yet": ({"external_id": None}, False, True),
    "synced": ({"external_id": "2"}, False, False),
    "failing": ({"external_id": "3", "attempts": 2, "last_error": "HTTP 502"}, True, True),
    "dead": ({"external_id": "4", "attempts": 8, "dead": True}, True, False),
    "deleted": ({"external_id": "5", "tombstoned_at": utcnow()}, True, False),
}


def _link_every_item(engine: Engine, workspace_id: uuid.UUID, item_ids: list[str]) -> uuid.UUID:
    """One connection; each seeded item linked in one of the ``LINKS`` states, a goal mirror
    behind its goal's revision, and a link an item moved away from (to be closed out)."""
    with Session(engine) as session:
        connection = Connection(
            workspace_id=workspace_id, name="Team", kind="github", base_url="https://example.test"
        )
        session.add(connection)
        session.flush()
        for item_id, (fields, behind, _) in zip(item_ids, LINKS.values(), strict=True):
            item = session.get(ActionItem, uuid.UUID(item_id))
            assert item is not None
            session.add(
                ExternalLink(
                    workspace_id=workspace_id,
                    connection_id=connection.id,
                    item_id=item.id,
                    pushed_revision=item.revision - behind,
                    **fields,
                )
            )
        # Left behind by a move of the synced item: not on its goal page, but still to be pushed.
        session.add(
            ExternalLink(
                workspace_id=workspace_id,
                connection_id=connection.id,
                item_id=uuid.UUID(item_ids[1]),
                external_id="1",
                pushed_revision=1_000,
                moved_at=utcnow() - timedelta(minutes=1),
            )
        )
        goal = session.exec(select(Goal).where(Goal.workspace_id == workspace_id)).first()
        assert goal is not None
        session.add(
            ExternalLink(
                workspace_id=workspace_id,
                connection_id=connection.id,
                kind="goal",
                goal_id=goal.id,
                external_id="epic",
                pushed_revision=goal.revision - 1,
            )
        )
        session.commit()
        return connection.id


def _pending_on_metrics(client: TestClient, connection_id: uuid.UUID) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "planbridge_pending_pushes" and sample.labels == {
                "connection": str(connection_id)
            }:
                return sample.value
    return 0.0


def _claimable_by_the_engine(engine: Engine) -> int:
    statement = (
        select(func.count())
        .select_from(ExternalLink)
        .join(Connection, col(Connection.id) == col(ExternalLink.connection_id))
        .outerjoin(ActionItem, col(ActionItem.id) == col(ExternalLink.item_id))
        .outerjoin(Goal, col(Goal.id) == col(ExternalLink.goal_id))
        .where(*needs_push_conditions(utcnow() + timedelta(days=1), []))
    )
    with Session(engine) as session:
        return int(session.exec(statement).one())


def test_health_metrics_dashboard_and_engine_count_the_same_pending_pushes(
    signed_in: TestClient, tenant: Tenant, engine: Engine
) -> None:
    seeded = seed_plan(signed_in, tenant.headers)
    connection_id = _link_every_item(engine, tenant.workspace_id, seeded.item_ids)
    # The items' links that need a push, the moved-away link and the goal mirror.
    expected = sum(needed for _, _, needed in LINKS.values()) + 2

    health = signed_in.get(f"/api/v1/connections/{connection_id}/health", headers=tenant.headers)
    assert health.status_code == 200, health.text
    assert health.json()["pending_pushes"] == expected
    assert _pending_on_metrics(signed_in, connection_id) == expected
    page = signed_in.get("/connections").text
    pushes = re.search(r'data-testid="pushes">(\d+) /', page)
    assert pushes is not None and int(pushes.group(1)) == expected
    assert _claimable_by_the_engine(engine) == expected

    # The goal pages show each item's live link in the word the API uses for its state.
    words = []
    for goal_id in seeded.goal_ids:
        goal_page = signed_in.get(f"/goals/{goal_id}").text
        words += re.findall(r'<span class="sync sync-[\w-]+">([\w ]+)</span>', goal_page)
    assert sorted(words) == sorted(["pending", "synced", "failing", "dead", "deleted"])
    assert sum(word in ("pending", "failing") for word in words) == expected - 2
