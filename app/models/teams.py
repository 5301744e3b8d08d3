"""Teams: a named group of people with one chat webhook (a team channel).

A person with no chat webhook of their own is reached on their team's, each message naming them;
see app/services/teams.py. A team is nothing more: it owns no plans, goals or items.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, workspace_field


class Team(SQLModel, table=True):
    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_team_name"),)

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    name: str = Field(max_length=200)
    # Encrypted (app/crypto.py): an incoming webhook's URL is its credential.
    chat_webhook_encrypted: str
    created_at: datetime = created_field()
