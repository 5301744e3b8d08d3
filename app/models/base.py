"""Column helpers shared by every table: UUID keys, workspace scoping, UTC timestamps, JSON."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from app.db import UTCDateTime, utcnow


def id_field() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def workspace_field() -> Any:
    return Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")


def created_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


__all__ = [
    "created_field",
    "datetime",
    "id_field",
    "json_field",
    "timestamp_field",
    "workspace_field",
]
