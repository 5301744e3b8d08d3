"""Workspaces (tenants) and their API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.models.base import created_field, id_field, timestamp_field, workspace_field


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"

    def allows(self, needed: Scope) -> bool:
        order = [Scope.read, Scope.write, Scope.admin]
        return order.index(self) >= order.index(needed)


class Workspace(SQLModel, table=True):
    id: uuid.UUID = id_field()
    name: str = Field(index=True, unique=True, max_length=200)
    # IANA name; a person without a time zone of their own lives in this one.
    default_time_zone: str = Field(default="UTC", max_length=64)
    # Nudges (app/services/nudges.py): at most this many per person and week, none in the quiet
    # hours (local time of the person; start after end spans midnight) nor on weekends.
    nudge_weekly_cap: int = Field(default=5, ge=0)
    quiet_hours_start: time = Field(default=time(20, 0))
    quiet_hours_end: time = Field(default=time(8, 0))
    created_at: datetime = created_field()


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 hash is stored, the token itself is shown once."""

    __tablename__ = "api_token"

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    name: str = Field(default="", max_length=200)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    prefix: str = Field(max_length=16)
    scope: Scope = Field(default=Scope.write)
    created_at: datetime = created_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()


class AuthFailure(SQLModel, table=True):
    """Failed token checks of one client address in its current window, shared by every API
    process on PostgreSQL (app/security/throttle.py); SQLite counts in the one process instead."""

    __tablename__ = "auth_failure"

    client: str = Field(primary_key=True, max_length=100)
    window_started_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    failures: int = 0
