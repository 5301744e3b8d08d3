"""The caller's own workspace and its settings."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from app.errors import NotFound
from app.models import Workspace


def get_workspace(session: Session, workspace_id: uuid.UUID) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("This workspace no longer exists.")
    return workspace


def update_workspace(
    session: Session, workspace_id: uuid.UUID, changes: dict[str, Any]
) -> Workspace:
    workspace = get_workspace(session, workspace_id)
    for field, value in changes.items():
        setattr(workspace, field, value)
    session.add(workspace)
    session.flush()
    return workspace
