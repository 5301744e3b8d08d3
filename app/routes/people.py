"""``/api/v1/people``: the owners of goals and action items."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.deps import PageDep, ReadAuth, SessionDep, WriteAuth
from app.errors import problem_responses
from app.models import Person
from app.routes.paging import page_response
from app.schemas.people import PersonCreate, PersonPage, PersonPublic, PersonUpdate
from app.services import people
from app.services.messages.channels import forget_email_refusal, reachability_of_people

router = APIRouter(prefix="/people", tags=["people"])


@router.post("", status_code=201, responses=problem_responses(401, 403, 413, 422))
def create_person(body: PersonCreate, session: SessionDep, auth: WriteAuth) -> PersonPublic:
    person = people.create_person(session, auth.workspace_id, body.model_dump())
    return _answer(session, person)


@router.get("", response_model=PersonPage, responses=problem_responses(401, 422))
def list_people(
    session: SessionDep,
    auth: ReadAuth,
    page: PageDep,
    email: Annotated[
        str | None, Query(max_length=320, description="Exact e-mail (any case)")
    ] = None,
) -> Response:
    result = people.list_people(
        session, auth.workspace_id, email=email, limit=page.limit, offset=page.offset
    )
    found = reachability_of_people(session, [row["id"] for row in result.rows])
    for row in result.rows:
        row["reachability"] = asdict(found[row["id"]])
    return page_response(PersonPage, result)


def _answer(session: SessionDep, person: Person) -> PersonPublic:
    found = reachability_of_people(session, [person.id])[person.id]
    values = {**person.model_dump(), "reachability": asdict(found)}
    return PersonPublic.model_validate(values)


@router.get("/{person_id}", responses=problem_responses(401, 404, 422))
def get_person(person_id: uuid.UUID, session: SessionDep, auth: ReadAuth) -> PersonPublic:
    return _answer(session, people.get_person(session, auth.workspace_id, person_id))


@router.patch("/{person_id}", responses=problem_responses(401, 403, 404, 413, 422))
def update_person(
    person_id: uuid.UUID, body: PersonUpdate, session: SessionDep, auth: WriteAuth
) -> PersonPublic:
    """Change a person; a new e-mail address clears a refusal recorded for the old one."""
    changes = body.model_dump(exclude_unset=True)
    person = people.update_person(session, auth.workspace_id, person_id, changes)
    if "email" in changes:
        forget_email_refusal(session, person)
    return _answer(session, person)


@router.delete(
    "/{person_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def delete_person(person_id: uuid.UUID, session: SessionDep, auth: WriteAuth) -> None:
    """Delete a person; 409 while they still own goals or action items."""
    people.delete_person(session, auth.workspace_id, person_id)
