"""Request and response bodies of the execution features: check-ins, focus blocks, feeds,
subscriptions."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from app.models.execution import Confidence, DeliveryState
from app.schemas.common import (
    HTTP_URL_PATTERN,
    NoNul,
    PublicModel,
    Trimmed,
    WholeNumber,
    WriteModel,
)
from app.schemas.weeks import IsoWeek

EVENT_TYPES = ("item.status_changed", "goal.health_changed", "review.ready")


def _iso_week(value: str) -> str:
    try:
        return str(IsoWeek.parse(value))
    except Exception as error:  # InvalidField carries the message pydantic should show
        raise ValueError(getattr(error, "detail", str(error))) from error


TIME_ZONES = sorted(available_timezones())
# Weeks 01-52 of years 0001-9998; week 53 (in the years that have one) is accepted too, but a
# pattern cannot tell those years, so the schema leaves it out rather than promise it everywhere.
ISO_WEEK_PATTERN = (
    r"^(0[0-9]{2}[1-9]|0[0-9][1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])"
    r"-W(0[1-9]|[1-4][0-9]|5[0-2])$"
)
# A wall-clock time in the block's time zone: no offset (RFC 3339's format "time" requires one).
CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
CLOCK_TIME_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": CLOCK_TIME_PATTERN, "examples": ["09:00", "17:30:00"]}
)


def _time_zone(value: str) -> str:
    try:
        if value not in TIME_ZONES:
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"'{value}' is not an IANA time zone like Europe/Berlin") from error
    return value


def _clock_time(value: Any) -> Any:
    if not isinstance(value, str) or re.fullmatch(CLOCK_TIME_PATTERN, value) is None:
        raise ValueError("must be a time of day like 09:00 or 17:30:00, without an offset")
    return value


def _event_types(values: list[str]) -> list[str]:
    unknown = sorted(set(values) - set(EVENT_TYPES))
    if unknown:
        kind = "event type" if len(unknown) == 1 else "event types"
        raise ValueError(f"unknown {kind} {unknown}; known: {list(EVENT_TYPES)}")
    return sorted(set(values))


IsoWeekText = Annotated[
    str,
    AfterValidator(_iso_week),
    WithJsonSchema({"type": "string", "pattern": ISO_WEEK_PATTERN, "examples": ["2027-W03"]}),
]
ClockTime = Annotated[time, BeforeValidator(_clock_time), CLOCK_TIME_SCHEMA]
PublicClockTime = Annotated[time, CLOCK_TIME_SCHEMA]
TimeZone = Annotated[
    str, AfterValidator(_time_zone), WithJsonSchema({"type": "string", "enum": TIME_ZONES})
]
Text = Annotated[str, StringConstraints(max_length=5000), NoNul]


CONFIDENCE_DESCRIPTION = (
    "How sure the owner is that the goal meets its deadline: on_track (it will), at_risk (it "
    "may not without a change) or off_track (it will not as planned)"
)


class CheckInCreate(WriteModel):
    owner_id: uuid.UUID
    goal_id: uuid.UUID
    iso_week: IsoWeekText = Field(
        description="The ISO week checked in for, e.g. 2027-W03: the current week, the previous "
        "one (a late check-in) or the next one"
    )
    confidence: Confidence = Field(description=CONFIDENCE_DESCRIPTION)
    note: Text = ""
    blockers: Text = ""
    needs_help: StrictBool = False


class CheckInPublic(PublicModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    goal_id: uuid.UUID
    iso_week: str
    confidence: Confidence = Field(description=CONFIDENCE_DESCRIPTION)
    note: str
    blockers: str
    needs_help: bool
    created_at: datetime
    replaced_at: datetime | None
    replaced_by_id: uuid.UUID | None


class FocusBlockCreate(WriteModel):
    weekday: WholeNumber = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    start: ClockTime
    end: ClockTime
    timezone: TimeZone

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: time, info: ValidationInfo) -> time:
        # A field validator, so the 422 names ``end``; ``start`` is absent if it was refused.
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("end must be after start (a block cannot cross midnight)")
        return end


class FocusBlockPublic(PublicModel):
    id: uuid.UUID
    person_id: uuid.UUID
    weekday: int
    start: PublicClockTime
    end: PublicClockTime
    timezone: str


class FeedTokenCreated(PublicModel):
    id: uuid.UUID
    person_id: uuid.UUID
    token: str = Field(description="Shown once; put it in the feed URL")
    url: str
    created_at: datetime


class FeedTokenPublic(PublicModel):
    id: uuid.UUID
    person_id: uuid.UUID
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


SECRET_LENGTH = (16, 200)
Secret = Annotated[
    str, StringConstraints(min_length=SECRET_LENGTH[0], max_length=SECRET_LENGTH[1]), NoNul
]
SECRET_DESCRIPTION = (
    f"The HMAC signing key, {SECRET_LENGTH[0]} to {SECRET_LENGTH[1]} characters; generated (32 "
    "random bytes, URL-safe) and shown once when left out"
)


class SubscriptionCreate(WriteModel):
    url: Annotated[
        str,
        StringConstraints(min_length=1, max_length=1000, pattern=HTTP_URL_PATTERN),
        Trimmed,
    ]
    secret: Secret | None = Field(default=None, description=SECRET_DESCRIPTION)
    event_types: Annotated[list[str], AfterValidator(_event_types)] = Field(
        default_factory=lambda: list(EVENT_TYPES),
        min_length=1,
        json_schema_extra={"items": {"type": "string", "enum": list(EVENT_TYPES)}},
    )
    description: Annotated[str, StringConstraints(max_length=200), NoNul] = ""


class SecretRotation(WriteModel):
    secret: Secret | None = Field(default=None, description=SECRET_DESCRIPTION)
    grace_seconds: WholeNumber = Field(default=86_400, ge=0, le=30 * 86_400)


class SubscriptionPublic(PublicModel):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    active: bool
    created_at: datetime
    previous_secret_until: datetime | None
    secret: str | None = Field(default=None, description="Only in the answer that set it")


class DeliveryPublic(PublicModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
