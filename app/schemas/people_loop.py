"""Bodies of the people loop: time zones, check-in links, a person's channels, the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, StringConstraints

from app.schemas.common import Name, NoNul, PublicModel, WriteModel, left_unchanged
from app.schemas.execution import ClockTime, PublicClockTime


def _iana_name(value: str) -> str:
    if value not in available_timezones():
        raise ValueError(f"'{value}' is not an IANA time zone such as Europe/Berlin")
    return value


TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    NoNul,
    AfterValidator(_iana_name),
    Field(description="IANA time zone, e.g. Europe/Berlin", examples=["Europe/Berlin"]),
]
WebhookUrl = Annotated[
    str, StringConstraints(min_length=1, max_length=1000, pattern=r"^https?://\S+$"), NoNul
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
    nudge_weekly_cap: Annotated[int, Field(ge=0, le=100)] = left_unchanged()
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
    email_enabled: bool = left_unchanged()
    chat_webhook_url: WebhookUrl | None = Field(
        default=None, description="Slack-compatible incoming webhook; null removes it"
    )
    team_id: uuid.UUID | None = Field(
        default=None,
        description="The team whose chat webhook reaches the person when they have none of "
        "their own; null: no team",
    )
    nudges_opted_out: bool = left_unchanged()


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
