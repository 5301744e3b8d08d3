"""Workspace scoping: every lookup of a row goes through the caller's workspace.

An id from another workspace is treated exactly like an unknown id: in a path it is a 404, and as a
reference inside a body (an owner, a goal, a connection) it is a 422 naming the field, never a link.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel

from app.errors import InvalidField, NotFound

Row = TypeVar("Row", bound=SQLModel)

_LABELS = {
    "person": "person",
    "plan": "plan",
    "goal": "goal",
    "action_item": "action item",
    "connection": "connection",
    "api_token": "API token",
}


def label_of(model: type[SQLModel]) -> str:
    table: Any = getattr(model, "__tablename__", model.__name__.lower())
    return _LABELS.get(str(table), str(table))


def find_in_workspace(
    session: Session, model: type[Row], row_id: uuid.UUID, workspace_id: uuid.UUID
) -> Row | None:
    row = session.get(model, row_id)
    if row is None or getattr(row, "workspace_id", None) != workspace_id:
        return None
    return row


def get_in_workspace(
    session: Session, model: type[Row], row_id: uuid.UUID, workspace_id: uuid.UUID
) -> Row:
    """The row, or NotFound (404) if it does not exist in this workspace."""
    row = find_in_workspace(session, model, row_id, workspace_id)
    if row is None:
        raise NotFound(f"No {label_of(model)} with id {row_id} in this workspace.")
    return row


def require_reference(
    session: Session, model: type[Row], row_id: uuid.UUID, workspace_id: uuid.UUID, field: str
) -> Row:
    """The referenced row, or InvalidField (422 on ``field``) if it is not in this workspace."""
    row = find_in_workspace(session, model, row_id, workspace_id)
    if row is None:
        raise InvalidField(
            field, f"{field}: no {label_of(model)} with id {row_id} in this workspace."
        )
    return row
