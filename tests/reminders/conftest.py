"""A workspace whose people live in three time zones, and the people loop (sync/people_loop.py)
driven by a clock the test moves. The SMTP server on loopback (``smtp``, ``mail_settings``) is
tests/conftest.py's."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import CheckIn, Confidence, Person
from app.settings import Settings
from sync.context import EngineContext
from sync.people_loop import PeopleLoop
from tests.execution.factories import make_goal, make_item, make_plan, make_workspace
from tests.messages.servers import MailServer

ZONES = ("Pacific/Auckland", "Europe/Berlin", "America/Los_Angeles")


@dataclass
class MovedClock:
    at: datetime = field(default_factory=lambda: datetime(2027, 3, 8, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        pass


@dataclass
class Team:
    workspace_id: uuid.UUID
    people: dict[str, Person]  # by time zone
    goal_id: uuid.UUID

    def email(self, zone: str) -> str:
        address = self.people[zone].email
        assert address is not None
        return address


@pytest.fixture
def team(engine: Engine) -> Team:
    """One person per zone, each owning open work in a plan running through March 2027."""
    with Session(engine, expire_on_commit=False) as session:
        workspace = make_workspace(session)
        plan = make_plan(session, workspace.id, date(2027, 1, 4), date(2027, 6, 30))
        people = {}
        for zone in ZONES:
            city = zone.rsplit("/", 1)[1].replace("_", " ")
            person = Person(
                workspace_id=workspace.id,
                name=f"{city} Owner",
                email=f"{city.replace(' ', '').lower()}@example.com",
                time_zone=zone,
            )
            session.add(person)
            session.flush()
            people[zone] = person
        lead = people[ZONES[0]]
        goal = make_goal(session, plan, lead, title="Ship the beta")
        for zone, person in people.items():
            make_item(session, goal, person, due=date(2027, 3, 11), title=f"Work in {zone}")
        # Someone without open work is never reminded.
        session.add(Person(workspace_id=workspace.id, name="Idle", email="idle@example.com"))
        session.commit()
        return Team(workspace_id=workspace.id, people=people, goal_id=goal.id)


def people_loop(engine: Engine, settings: Settings, clock: MovedClock, name: str) -> PeopleLoop:
    return PeopleLoop(EngineContext(engine, settings, name, clock))


def check_in(engine: Engine, team: Team, zone: str, week: str) -> None:
    with Session(engine) as session:
        session.add(
            CheckIn(
                workspace_id=team.workspace_id,
                owner_id=team.people[zone].id,
                goal_id=team.goal_id,
                iso_week=week,
                confidence=Confidence.on_track,
            )
        )
        session.commit()


def mails(smtp: MailServer) -> Counter[tuple[str, str]]:
    """(recipient, subject) -> how many were received."""
    return Counter((str(message["To"]), str(message["Subject"])) for message in smtp.received)
