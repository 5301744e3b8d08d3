"""Time zones of people and workspaces (IANA names, checked by the schemas) as ``ZoneInfo``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.models import Person, Workspace


def workspace_time_zone(session: Session, workspace_id: uuid.UUID) -> str:
    workspace = session.get(Workspace, workspace_id)
    return workspace.default_time_zone if workspace is not None else "UTC"


def person_time_zone(session: Session, person: Person) -> ZoneInfo:
    """The person's own time zone, else their workspace's default."""
    return ZoneInfo(person.time_zone or workspace_time_zone(session, person.workspace_id))


def local_today(session: Session, person: Person, now: datetime) -> date:
    """The person's date at ``now``: a check-in on Monday morning in Tokyo is for Monday's week."""
    return now.astimezone(person_time_zone(session, person)).date()
