"""The batched commitments (the People page) equal the per-person ones, person by person."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from app.models import ItemStatus, Person
from app.services.accountability import commitments, commitments_of_people
from app.settings import Settings
from tests.execution.factories import (
    at,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
)

SETTINGS = Settings(database_url="sqlite://")
NOW = at("2027-01-20 12:00")


def test_batched_commitments_equal_each_persons_commitments(session: Session) -> None:
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id, "Ada", hours=4)
    bob = make_person(session, workspace.id, "Bob", hours=None)
    idle = make_person(session, workspace.id, "Idle", hours=8)
    goal = make_goal(session, make_plan(session, workspace.id), ada)
    make_item(session, goal, ada, title="Overdue", due=date(2027, 1, 15))
    make_item(session, goal, ada, title="This week", due=date(2027, 1, 22), estimate=8)
    make_item(session, goal, ada, title="Done", status=ItemStatus.done)
    make_item(session, goal, bob, title="Later", due=date(2027, 2, 10))
    other = make_workspace(session, "other")
    stranger = make_person(session, other.id, "Stranger")
    people = session.exec(select(Person).where(Person.workspace_id == workspace.id)).all()
    batched = commitments_of_people(session, workspace.id, list(people), SETTINGS, now=NOW)
    assert set(batched) == {ada.id, bob.id, idle.id}
    assert stranger.id not in batched
    for person in (ada, bob, idle):
        assert batched[person.id] == commitments(
            session, workspace.id, person.id, SETTINGS, now=NOW
        )
    assert [entry.title for entry in batched[ada.id].open] == ["Overdue", "This week"]
    assert [entry.title for entry in batched[ada.id].overdue] == ["Overdue"]
    assert batched[idle.id].open == []
