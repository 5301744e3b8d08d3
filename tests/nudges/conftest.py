"""A plan with an item owner, a goal owner and a plan owner, and ``tick``: what the worker's
people loop does at a given instant. The SMTP server and chat receiver on loopback (``smtp``,
``chat``, ``mail_settings``) are tests/conftest.py's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from email.message import Message as Email
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import ActionItem, Goal, ItemStatus, Nudge, Person, Workspace
from app.services.digest import send_weekly_digests
from app.services.messages.outbox import send_due_messages
from app.services.nudge_round import run_nudge_round
from app.settings import Settings
from tests.conftest import Tenant
from tests.execution.factories import at, make_goal, make_item, make_plan
from tests.messages.servers import MailServer


@dataclass
class Team:
    """Ada owns the item, Grace the goal, Linus the plan (all in UTC unless a test moves them)."""

    engine: Engine
    settings: Settings
    smtp: MailServer
    workspace_id: uuid.UUID
    ada: Person
    grace: Person
    linus: Person
    item: ActionItem

    def tick(self, now: datetime) -> None:
        """One pass of the worker's people loop at ``now``: nudges, digests, the outbox."""
        run_nudge_round(self.engine, self.settings, now)
        send_weekly_digests(self.engine, self.settings, now)
        send_due_messages(self.engine, now, self.settings)

    def mail_to(self, person: Person) -> list[Email]:
        return [mail for mail in self.smtp.received if mail["To"] == person.email]

    def nudges(self) -> list[Nudge]:
        with Session(self.engine) as session:
            return list(session.exec(select(Nudge).order_by(Nudge.created_at)).all())

    def add_item(self, title: str, due: date, **values: Any) -> ActionItem:
        with Session(self.engine, expire_on_commit=False) as session:
            goal = session.get(Goal, self.item.goal_id)
            assert goal is not None
            item = make_item(session, goal, self.ada, title=title, due=due, **values)
            session.commit()
            return item

    def change(self, model: type[Any], row_id: uuid.UUID, **values: object) -> None:
        with Session(self.engine) as session:
            row = session.get(model, row_id)
            for field, value in values.items():
                setattr(row, field, value)
            session.add(row)
            session.commit()


def person(session: Session, workspace_id: uuid.UUID, name: str, email: str | None) -> Person:
    row = Person(workspace_id=workspace_id, name=name, email=email, weekly_strategic_hours=10.0)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def team(engine: Engine, tenant: Tenant, mail_settings: Settings, smtp: MailServer) -> Team:
    """Ada's item "Ship the form" is due Friday 2027-02-26 and in progress (touched Monday
    2027-03-01 08:00, so not stale for a week)."""
    with Session(engine, expire_on_commit=False) as session:
        ada = person(session, tenant.workspace_id, "Ada Lovelace", "ada@example.com")
        grace = person(session, tenant.workspace_id, "Grace Hopper", "grace@example.com")
        linus = person(session, tenant.workspace_id, "Linus Torvalds", "linus@example.com")
        plan = make_plan(session, tenant.workspace_id)
        plan.owner_id = linus.id
        goal = make_goal(session, plan, grace, title="Onboarding")
        item = make_item(
            session,
            goal,
            ada,
            title="Ship the form",
            due=date(2027, 2, 26),
            status=ItemStatus.in_progress,
            created=at("2027-03-01 08:00"),
        )
        session.commit()
    workspace_id = tenant.workspace_id
    return Team(engine, mail_settings, smtp, workspace_id, ada, grace, linus, item)


def set_workspace(engine: Engine, workspace_id: uuid.UUID, **values: object) -> None:
    with Session(engine) as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        for field, value in values.items():
            setattr(workspace, field, value)
        session.add(workspace)
        session.commit()


@dataclass
class MovedClock:
    """An engine's clock that the test moves; sleeping costs nothing."""

    at: datetime

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        pass


def nudge_subjects(team: Team, person: Person) -> list[str]:
    """Subjects of the nudges the person got (a digest or a reminder is not one)."""
    return [str(m["Subject"]) for m in team.mail_to(person) if m["List-Unsubscribe"]]
