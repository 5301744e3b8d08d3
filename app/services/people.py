"""People: the owners of goals and items, their weekly strategic hours and tracker identities."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import Conflict
from app.models import ActionItem, Goal, Person
from app.services.pagination import PageSlice, paginate_values
from app.services.tenancy import get_in_workspace
from app.services.wording import count_of


def create_person(session: Session, workspace_id: uuid.UUID, values: dict[str, Any]) -> Person:
    person = Person(workspace_id=workspace_id, **values)
    session.add(person)
    session.flush()
    return person


def get_person(session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID) -> Person:
    return get_in_workspace(session, Person, person_id, workspace_id)


def list_people(
    session: Session, workspace_id: uuid.UUID, *, email: str | None, limit: int, offset: int
) -> PageSlice[dict[str, Any]]:
    conditions = [col(Person.workspace_id) == workspace_id]
    if email is not None:
        conditions.append(func.lower(Person.email) == email.lower())
    return paginate_values(session, Person, conditions, limit=limit, offset=offset)


def update_person(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID, changes: dict[str, Any]
) -> Person:
    person = get_person(session, workspace_id, person_id)
    for field, value in changes.items():
        setattr(person, field, value)
    person.updated_at = utcnow()
    session.add(person)
    session.flush()
    return person


def delete_person(session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID) -> None:
    """Delete a person who owns nothing; an owner must hand their goals and items over first."""
    person = get_person(session, workspace_id, person_id)
    items = session.exec(
        select(func.count()).select_from(ActionItem).where(ActionItem.owner_id == person.id)
    ).one()
    goals = session.exec(
        select(func.count()).select_from(Goal).where(Goal.owner_id == person.id)
    ).one()
    if items or goals:
        raise Conflict(
            f"{person.name} owns {count_of(items, 'action item')} and "
            f"{count_of(goals, 'goal')}; "
            "give them another owner before deleting this person."
        )
    session.delete(person)
    session.flush()
