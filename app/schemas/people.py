"""People: owners of goals and action items, with their capacity and tracker identities."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict, StringConstraints

from app.schemas.common import (
    Email,
    Name,
    NotBlank,
    Page,
    PublicModel,
    Trimmed,
    WriteModel,
    left_unchanged,
)
from app.schemas.people_loop import Reachability, TimeZoneName

# Tracker kind (the connector's entry-point name) -> that tracker's account id for the person.
IdentityKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
IdentityValue = Annotated[str, StringConstraints(min_length=1, max_length=200), NotBlank, Trimmed]
Identities = Annotated[
    dict[IdentityKind, IdentityValue],
    Field(
        max_length=32,
        # Only the kinds' pattern: a key that does not match is refused, so the schema says so.
        json_schema_extra={"additionalProperties": False},
        description='One account per tracker kind, e.g. {"jira": "<accountId>", '
        '"jira_dc": "<username>", "github": "<login>", "trello": "<member id>"}',
    ),
]
WeeklyHours = Annotated[float, Strict(), Field(ge=0, le=168, allow_inf_nan=False)]


class PersonCreate(WriteModel):
    name: Name
    email: Email | None = None
    weekly_strategic_hours: WeeklyHours | None = None
    identities: Identities = Field(default_factory=dict)
    # None: the workspace's default time zone.
    time_zone: TimeZoneName | None = None


class PersonUpdate(WriteModel):
    name: Name = left_unchanged()
    email: Email | None = None
    weekly_strategic_hours: WeeklyHours | None = None
    identities: Identities = left_unchanged()
    time_zone: TimeZoneName | None = None


class PersonPublic(PublicModel):
    id: uuid.UUID
    name: str
    email: str | None
    weekly_strategic_hours: float | None
    identities: dict[str, str]
    time_zone: str | None
    # Whether the last message to the person was refused for good (a bad address).
    reachability: Reachability
    created_at: datetime
    updated_at: datetime


class PersonPage(Page[PersonPublic]):
    pass
