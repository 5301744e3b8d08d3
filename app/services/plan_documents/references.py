"""Names in a document resolved to the workspace: people by email or declared key, connections by
name. A person declared in the document and missing from the workspace is created by the apply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.models import Connection, Person
from app.services.plan_documents.document import PersonDeclaration, PlanDocument
from app.services.plan_documents.places import Path, Places, Problem, problem_at


@dataclass(eq=False)
class PersonSlot:
    """A person the document names: an existing row, or one the apply creates (``person`` is set
    once it exists). Identity, not value, makes two slots the same person."""

    declaration: PersonDeclaration | None
    person: Person | None
    path: Path | None = None

    @property
    def label(self) -> str:
        if self.person is not None:
            return self.person.email or self.person.name
        assert self.declaration is not None
        return self.declaration.email or self.declaration.name

    @property
    def id(self) -> uuid.UUID | None:
        return self.person.id if self.person is not None else None


@dataclass
class References:
    declared: list[PersonSlot] = field(default_factory=list)
    by_reference: dict[str, PersonSlot] = field(default_factory=dict)
    by_email: dict[str, Person] = field(default_factory=dict)
    connections: dict[str, list[Connection]] = field(default_factory=dict)
    connection_names: dict[uuid.UUID, str] = field(default_factory=dict)
    people_by_id: dict[uuid.UUID, Person] = field(default_factory=dict)

    def person(self, reference: str) -> PersonSlot | None:
        slot = self.by_reference.get(reference) or self.by_reference.get(reference.lower())
        if slot is not None:
            return slot
        existing = self.by_email.get(reference.strip().lower())
        if existing is None:
            return None
        slot = PersonSlot(declaration=None, person=existing)
        self.by_reference[reference.lower()] = slot
        return slot

    def person_label(self, person_id: uuid.UUID | None) -> str | None:
        if person_id is None:
            return None
        person = self.people_by_id.get(person_id)
        return (person.email or person.name) if person else str(person_id)

    def connection_label(self, connection_id: uuid.UUID | None) -> str | None:
        if connection_id is None:
            return None
        return self.connection_names.get(connection_id, str(connection_id))


def load_references(
    session: Session, workspace_id: uuid.UUID, document: PlanDocument
) -> References:
    refs = References()
    people = session.exec(
        select(Person)
        .where(Person.workspace_id == workspace_id)
        .order_by(col(Person.created_at), col(Person.id))
    ).all()
    by_name: dict[str, Person] = {}
    for person in people:
        refs.people_by_id[person.id] = person
        if person.email:
            refs.by_email.setdefault(person.email.lower(), person)
        by_name.setdefault(person.name.lower(), person)
    for index, declaration in enumerate(document.people):
        if declaration.email:
            existing = refs.by_email.get(declaration.email.lower())
        else:
            existing = by_name.get(declaration.name.lower())
        slot = PersonSlot(declaration=declaration, person=existing, path=("people", index))
        refs.declared.append(slot)
        if declaration.key:
            refs.by_reference[declaration.key] = slot
        if declaration.email:
            refs.by_reference[declaration.email.lower()] = slot
    for connection in session.exec(
        select(Connection).where(Connection.workspace_id == workspace_id)
    ).all():
        refs.connections.setdefault(connection.name, []).append(connection)
        refs.connection_names[connection.id] = connection.name
    return refs


def resolve_person(
    refs: References, reference: str, places: Places, path: Path, problems: list[Problem]
) -> PersonSlot | None:
    slot = refs.person(reference)
    if slot is None:
        problems.append(
            problem_at(
                places,
                path,
                "unknown_person",
                f"No person {reference!r} in this workspace: use the email of one of its people, "
                "or declare the person under people.",
            )
        )
    return slot


def resolve_connection(
    refs: References, name: str | None, places: Places, path: Path, problems: list[Problem]
) -> uuid.UUID | None:
    if name is None:
        return None
    found = refs.connections.get(name, [])
    if len(found) == 1:
        return found[0].id
    if not found:
        known = ", ".join(sorted(refs.connections)) or "none yet"
        message = f"No connection named {name!r} in this workspace (connections: {known})."
        problems.append(problem_at(places, path, "unknown_connection", message))
    else:
        message = f"{len(found)} connections are named {name!r}; rename one of them."
        problems.append(problem_at(places, path, "ambiguous_connection", message))
    return None
