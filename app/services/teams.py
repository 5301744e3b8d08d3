"""Teams and their chat channel: how "a chat webhook per person or per team" works.

planbridge has no team model beyond this: a team is a named group of the workspace with one
Slack-compatible incoming webhook, and a person may belong to one (``person_channels.team_id``).
A person's chat messages go to their own webhook; a person without one is reached on their team's,
each message saying whom it is for. The team's URL passes the same address check as a person's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.crypto import SecretUnreadable, decrypt_text, encrypt_text
from app.errors import InvalidField
from app.models import PersonChannels, Team
from app.services.messages.channels import chat_webhook_url, check_chat_webhook_url
from app.services.pagination import PageSlice, paginate
from app.services.tenancy import get_in_workspace
from app.settings import Settings


@dataclass(frozen=True)
class ChatTarget:
    url: str
    team: str | None  # the team's name when the message goes to the team's channel


def create_team(
    session: Session, workspace_id: uuid.UUID, name: str, url: str, settings: Settings
) -> Team:
    team = Team(
        workspace_id=workspace_id,
        name=name,
        chat_webhook_encrypted=encrypt_text(settings, check_chat_webhook_url(url, settings)),
    )
    try:
        with session.begin_nested():
            session.add(team)
    except IntegrityError as error:
        raise InvalidField("name", f"A team named '{name}' already exists.") from error
    return team


def get_team(session: Session, workspace_id: uuid.UUID, team_id: uuid.UUID) -> Team:
    return get_in_workspace(session, Team, team_id, workspace_id)


def list_teams(
    session: Session, workspace_id: uuid.UUID, *, limit: int, offset: int
) -> PageSlice[Team]:
    statement = select(Team).where(col(Team.workspace_id) == workspace_id)
    return paginate(session, statement, [col(Team.name), col(Team.id)], limit=limit, offset=offset)


def delete_team(session: Session, workspace_id: uuid.UUID, team_id: uuid.UUID) -> None:
    """Its members keep their own channels; the database clears their ``team_id``."""
    session.delete(get_team(session, workspace_id, team_id))
    session.flush()


def chat_target(
    session: Session, channels: PersonChannels, settings: Settings
) -> ChatTarget | None:
    """Where the person's chat messages go: their own webhook, else their team's, else nowhere."""
    own = chat_webhook_url(channels, settings)
    if own is not None:
        return ChatTarget(own, None)
    team = session.get(Team, channels.team_id) if channels.team_id is not None else None
    if team is None:
        return None
    try:
        return ChatTarget(decrypt_text(settings, team.chat_webhook_encrypted), team.name)
    except SecretUnreadable:
        return None
