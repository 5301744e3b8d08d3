"""Bodies of the people loop: time zones, check-in links, a person's channels, the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints

from app.schemas.common import (
    HTTP_URL_PATTERN,
    Name,
    NotTextOrBoolean,
    PublicModel,
    WriteModel,
    left_unchanged,
)
from app.schemas.execution import ClockTime, PublicClockTime, TimeZone

# The schema lists the names (an enum), so a free string is not promised to be accepted.
TimeZoneName = Annotated[
    TimeZone, Field(description="IANA time zone, e.g. Europe/Berlin", examples=["Europe/Berlin"])
]
WebhookUrl = Annotated[
    str, StringConstraints(min_length=1, max_length=1000, pattern=HTTP_URL_PATTERN)
]


class Reachability(PublicModel):
    state: str = Field(description="reachable | unreachable")
    reason: str | None = Field(description="Why the last message was refused for good")
    since: datetime | None


class WorkspacePublic(PublicModel):
    id: uuid.UUID
    name: str
    default_time_zone: str
    nudge_weekly_cap: int = Field(description="Nudges a person gets at most per week")
    quiet_hours_start: PublicClockTime = Field(description="No nudges from this local time ...")
    quiet_hours_end: PublicClockTime = Field(description="... until this one (nor on weekends)")


class WorkspaceUpdate(WriteModel):
    default_time_zone: TimeZoneName = left_unchanged()
    nudge_weekly_cap: Annotated[int, Field(ge=0, le=100), NotTextOrBoolean] = left_unchanged()
    quiet_hours_start: ClockTime = left_unchanged()
    quiet_hours_end: ClockTime = left_unchanged()


class CheckInLinkPublic(PublicModel):
    id: uuid.UUID
    person_id: uuid.UUID
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class CheckInLinkIssued(CheckInLinkPublic):
    url: str = Field(description="The personal check-in page; shown once, only its hash is kept")


class ChannelsPublic(PublicModel):
    person_id: uuid.UUID
    email: str | None
    email_enabled: bool
    chat_webhook_set: bool
    team_id: uuid.UUID | None
    nudges_opted_out: bool
    reachability: Reachability


class ChannelsUpdate(WriteModel):
    # Strict: 0 or "no" is not a boolean, whatever pydantic would read it as.
    email_enabled: StrictBool = left_unchanged()
    chat_webhook_url: WebhookUrl | None = Field(
        default=None, description="Slack-compatible incoming webhook; null removes it"
    )
    team_id: uuid.UUID | None = Field(
        default=None,
        description="The team whose chat webhook reaches the person when they have none of "
        "their own; null: no team",
    )
    nudges_opted_out: StrictBool = left_unchanged()


class TeamCreate(WriteModel):
    name: Name
    chat_webhook_url: WebhookUrl = Field(description="The team channel's incoming webhook")


class TeamPublic(PublicModel):
    id: uuid.UUID
    name: str
    created_at: datetime


class MessageDeliveryPublic(PublicModel):
    id: uuid.UUID
    person_id: uuid.UUID
    channel: str
    kind: str
    iso_week: str
    topic: str
    subject: str
    outcome: str = Field(validation_alias="state", description="queued | sent | failed")
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
