"""The people loop: personal check-in links, a person's channels and the message delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, timestamp_field, workspace_field


class CheckInLink(SQLModel, table=True):
    """A link to a person's check-in page; only the SHA-256 hash of its token is stored.

    The page has no session, so the link carries its own CSRF token (random, shown only in the
    page's form): a form posted from elsewhere cannot know it.
    """

    __tablename__ = "check_in_link"

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(unique=True, index=True, max_length=64)
    prefix: str = Field(max_length=16)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = created_field()
    expires_at: datetime = created_field()
    revoked_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()


class PersonChannels(SQLModel, table=True):
    """How a person is reached: e-mail on or off, a chat webhook (encrypted: the URL is the
    credential), opt-outs, and whether the last message was refused for good."""

    __tablename__ = "person_channels"

    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    workspace_id: uuid.UUID = workspace_field()
    email_enabled: bool = True
    chat_webhook_encrypted: str | None = None
    # Without a webhook of their own, the person is reached on their team's (app/models/teams.py).
    team_id: uuid.UUID | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    nudges_opted_out: bool = False
    unreachable_reason: str | None = Field(default=None, max_length=500)
    unreachable_since: datetime | None = timestamp_field()
    updated_at: datetime = created_field()


class MessageChannel(StrEnum):
    email = "email"
    chat = "chat"


class MessageState(StrEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"  # refused for good, or given up after the maximum number of attempts


class MessageDelivery(SQLModel, table=True):
    """One message to one person on one channel: the outbox row, its retries and its log.

    The unique key (person, channel, kind, week, topic) means the same message is never queued
    twice: ``topic`` is "" for a weekly message and names the item or reason of a nudge.
    """

    __tablename__ = "message_delivery"
    __table_args__ = (
        UniqueConstraint(
            "person_id", "channel", "kind", "iso_week", "topic", name="uq_message_delivery_key"
        ),
        Index("ix_message_delivery_due", "state", "next_attempt_at"),
        Index("ix_message_delivery_person", "workspace_id", "person_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    person_id: uuid.UUID = Field(foreign_key="person.id", ondelete="CASCADE")
    channel: MessageChannel
    kind: str = Field(max_length=32)
    iso_week: str = Field(max_length=8)
    topic: str = Field(default="", max_length=200)
    subject: str = Field(max_length=300)
    text_body: str
    html_body: str = ""
    state: MessageState = MessageState.queued
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = timestamp_field()
    sent_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()
