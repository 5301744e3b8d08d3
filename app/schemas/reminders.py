"""Bodies of the weekly reminders: the cadence (workspace and plan) and the reminders sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from app.schemas.common import NotTextOrBoolean, PublicModel, WriteModel


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"


# The bounds before the validator: after it they would not reach the schema.
Hour = Annotated[
    int, Field(ge=0, le=23, description="Local hour, 0-23", examples=[15]), NotTextOrBoolean
]


class CadenceUpdate(WriteModel):
    weekday: Weekday = Field(description="Day of the weekly reminder", examples=["friday"])
    hour: Hour


class CadencePublic(PublicModel):
    weekday: Weekday
    hour: int = Field(description="Local hour in each person's own time zone")


class PlanCadencePublic(CadencePublic):
    inherited: bool = Field(description="The workspace's cadence: the plan has none of its own")


class ReminderPublic(PublicModel):
    id: uuid.UUID
    person_id: uuid.UUID
    iso_week: str
    kind: str = Field(description="weekly | follow_up")
    due_at: datetime
    created_at: datetime
    messages: int = Field(description="Messages queued (one per channel); 0: unreachable")
