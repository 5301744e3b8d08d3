"""``planbridge demo``: a quarter under way at once, seeded once, browsable in the dashboard."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.demo.seed import seed_demo
from app.models import ActionItem, CheckIn, Connection, ItemEvent, Person
from app.settings import Settings
from tests.dashboard.conftest import sign_in


def test_demo_seeds_a_quarter_under_way_once(
    engine: Engine, settings: Settings, client: TestClient
) -> None:
    demo = seed_demo(engine, settings)
    assert demo.seeded
    with Session(engine) as session:
        statuses = dict(
            session.exec(select(ActionItem.status, func.count()).group_by(ActionItem.status)).all()
        )
        assert statuses.get("done", 0) >= 5 and statuses.get("blocked", 0) >= 1
        assert statuses.get("in_progress", 0) >= 1 and statuses.get("todo", 0) >= 1
        assert len(session.exec(select(Person)).all()) == 4
        assert session.exec(select(Connection.kind)).all() == ["memory"]
        assert len(session.exec(select(CheckIn)).all()) >= 4 * 7
        created = session.exec(select(ItemEvent).where(ItemEvent.kind == "created")).all()
        assert {event.actor for event in created} == {"import by demo"}
    again = seed_demo(engine, settings)
    assert not again.seeded and again.plan_id == demo.plan_id
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ActionItem)).one() == 19
    assert sign_in(client, demo.token).status_code == 303
    for page in (f"/plans/{demo.plan_id}", "/reviews", "/people"):
        assert client.get(page).status_code == 200, page
