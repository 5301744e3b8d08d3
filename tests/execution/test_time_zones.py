"""A person's week is their own: their time zone, else their workspace's default (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Person, Workspace
from app.schemas.weeks import IsoWeek
from app.services.time_zones import local_today
from tests.conftest import Tenant

# Sunday evening in UTC is already Monday morning in Tokyo.
SUNDAY_EVENING_UTC = datetime(2027, 3, 7, 20, 0, tzinfo=UTC)


def test_a_persons_today_is_in_their_own_time_zone(engine: Engine, tenant: Tenant) -> None:
    with Session(engine) as session:
        tokyo = Person(workspace_id=tenant.workspace_id, name="Aiko", time_zone="Asia/Tokyo")
        utc = Person(workspace_id=tenant.workspace_id, name="Ada")
        session.add_all([tokyo, utc])
        session.flush()

        assert str(IsoWeek.of(local_today(session, tokyo, SUNDAY_EVENING_UTC))) == "2027-W10"
        assert str(IsoWeek.of(local_today(session, utc, SUNDAY_EVENING_UTC))) == "2027-W09"


def test_a_person_without_a_time_zone_lives_in_the_workspaces(
    engine: Engine, tenant: Tenant
) -> None:
    with Session(engine) as session:
        workspace = session.get(Workspace, tenant.workspace_id)
        assert workspace is not None and workspace.default_time_zone == "UTC"
        workspace.default_time_zone = "Pacific/Auckland"
        person = Person(workspace_id=tenant.workspace_id, name="Ada")
        session.add_all([workspace, person])
        session.flush()

        assert local_today(session, person, SUNDAY_EVENING_UTC).isoformat() == "2027-03-08"
