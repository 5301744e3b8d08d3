"""A person's channels (e-mail on/off, chat webhook), opt-outs and reachability."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.crypto import SecretUnreadable, decrypt_text, encrypt_text
from app.errors import InvalidField
from app.models import Person, PersonChannels, Team
from app.security.urls import check_base_url
from app.services.people import get_person
from app.services.tenancy import require_reference
from app.settings import Settings

UNSUBSCRIBE_PREFIX = "unsubscribe:"


@dataclass(frozen=True)
class Reachability:
    state: str  # "reachable" | "unreachable"
    reason: str | None
    since: datetime | None


def channels_of(session: Session, person: Person) -> PersonChannels:
    """The person's row, or the defaults (e-mail on, no chat, no opt-out) not yet stored."""
    return session.get(PersonChannels, person.id) or PersonChannels(
        person_id=person.id, workspace_id=person.workspace_id
    )


def reachability(channels: PersonChannels) -> Reachability:
    if channels.unreachable_reason:
        return Reachability("unreachable", channels.unreachable_reason, channels.unreachable_since)
    return Reachability("reachable", None, None)


def reachability_of_people(
    session: Session, person_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Reachability]:
    """Reachability of each person, by one query over the ones with a channels row."""
    found = {person_id: Reachability("reachable", None, None) for person_id in person_ids}
    if person_ids:
        rows = session.exec(
            select(PersonChannels).where(col(PersonChannels.person_id).in_(person_ids))
        ).all()
        found.update({row.person_id: reachability(row) for row in rows})
    return found


def chat_webhook_url(channels: PersonChannels, settings: Settings) -> str | None:
    if not channels.chat_webhook_encrypted:
        return None
    try:
        return decrypt_text(settings, channels.chat_webhook_encrypted)
    except SecretUnreadable:
        return None


def check_chat_webhook_url(url: str, settings: Settings) -> str:
    """The same address check as subscriptions and connections, naming ``chat_webhook_url``."""
    try:
        return check_base_url(url, policy=settings.address_policy)
    except InvalidField as error:
        raise InvalidField(
            "chat_webhook_url", error.detail.replace("base_url", "chat_webhook_url")
        ) from error


def channels_turned_off(changes: dict[str, Any]) -> list[str]:
    """The fields of ``changes`` that turn a way of reaching the person off: e-mail off, their
    chat webhook or their team's removed. Those can silence the weekly reminder, which a person
    may not opt out of without an admin (nudges they may: ``nudges_opted_out``)."""
    turned_off = []
    if changes.get("email_enabled") is False:
        turned_off.append("email_enabled")
    for name in ("chat_webhook_url", "team_id"):
        if name in changes and changes[name] is None:
            turned_off.append(name)
    return turned_off


def update_channels(
    session: Session,
    workspace_id: uuid.UUID,
    person_id: uuid.UUID,
    changes: dict[str, Any],
    settings: Settings,
    now: datetime,
) -> tuple[Person, PersonChannels]:
    """Apply the changed fields; any change of address clears a recorded permanent refusal."""
    person = get_person(session, workspace_id, person_id)
    channels = channels_of(session, person)
    if "email_enabled" in changes:
        channels.email_enabled = changes["email_enabled"]
    if "nudges_opted_out" in changes:
        channels.nudges_opted_out = changes["nudges_opted_out"]
    if "team_id" in changes:
        team_id = changes["team_id"]
        if team_id is not None:
            require_reference(session, Team, team_id, workspace_id, "team_id")
        channels.team_id = team_id
        channels.unreachable_reason = None
        channels.unreachable_since = None
    if "chat_webhook_url" in changes:
        url = changes["chat_webhook_url"]
        channels.chat_webhook_encrypted = (
            encrypt_text(settings, check_chat_webhook_url(url, settings)) if url else None
        )
        channels.unreachable_reason = None
        channels.unreachable_since = None
    if changes.get("email_enabled"):
        channels.unreachable_reason = None
        channels.unreachable_since = None
    channels.updated_at = now
    session.add(channels)
    session.flush()
    return person, channels


def mark_unreachable(session: Session, person: Person, reason: str, now: datetime) -> None:
    channels = channels_of(session, person)
    channels.unreachable_reason = reason[:500]
    channels.unreachable_since = now
    channels.updated_at = now
    session.add(channels)


def forget_email_refusal(session: Session, person: Person) -> None:
    """The address changed: a permanent refusal of the old one no longer says anything."""
    channels = session.get(PersonChannels, person.id)
    if channels is not None and (channels.unreachable_reason or "").startswith("email:"):
        channels.unreachable_reason = None
        channels.unreachable_since = None
        session.add(channels)
        session.flush()


def unsubscribe_token(settings: Settings, person_id: uuid.UUID) -> str:
    """An opt-out token for the person: encrypted and authenticated, so it cannot be forged."""
    return encrypt_text(settings, f"{UNSUBSCRIBE_PREFIX}{person_id}")


def opt_out_of_nudges(session: Session, settings: Settings, token: str, now: datetime) -> bool:
    """Opt the token's person out of nudges; False for a token that is not one of ours."""
    try:
        value = decrypt_text(settings, token)
    except (SecretUnreadable, ValueError):
        return False
    if not value.startswith(UNSUBSCRIBE_PREFIX):
        return False
    try:
        person = session.get(Person, uuid.UUID(value.removeprefix(UNSUBSCRIBE_PREFIX)))
    except ValueError:
        return False
    if person is None:
        return False
    channels = channels_of(session, person)
    channels.nudges_opted_out = True
    channels.updated_at = now
    session.add(channels)
    session.flush()
    return True
