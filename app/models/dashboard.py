"""Browser sessions of the dashboard and read-only share links to a plan."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.models.base import created_field, id_field, timestamp_field, workspace_field


class DashboardSession(SQLModel, table=True):
    """A signed-in browser: the cookie carries a random id whose SHA-256 hash is stored here.

    The API token itself never lives in the browser after sign-in; signing out deletes this row and
    revoking the token ends every session opened with it (the token is checked on each request).
    """

    __tablename__ = "dashboard_session"

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    token_id: uuid.UUID = Field(foreign_key="api_token.id", index=True, ondelete="CASCADE")
    session_hash: str = Field(unique=True, index=True, max_length=64)
    # Synchronizer token: every form of this session carries it, every POST must echo it.
    csrf_token: str = Field(max_length=64)
    created_at: datetime = created_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ShareLink(SQLModel, table=True):
    """A revocable, read-only link to one plan for people without a token; only its hash is kept."""

    __tablename__ = "share_link"

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    plan_id: uuid.UUID = Field(foreign_key="plan.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(unique=True, index=True, max_length=64)
    # The first characters of the token, so a person can tell links apart in the list.
    prefix: str = Field(max_length=16)
    label: str = Field(default="", max_length=200)
    created_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_field()
    revoked_at: datetime | None = timestamp_field()
