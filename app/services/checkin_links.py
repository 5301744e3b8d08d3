"""Personal check-in links: a long random token bound to one person, stored only as a hash.

Decision: a link is not spent by a submission. It opens the person's page for the current week
(in their time zone) until it expires (``PLANBRIDGE_CHECKIN_LINK_DAYS``, default 14) or is
revoked, so a check-in can be corrected until that week's review is frozen. Issuing a new link
does not revoke older ones; ``DELETE`` does.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import CheckInLink, Person
from app.services.people import get_person
from app.services.tenancy import find_in_workspace
from app.settings import Settings

CHECKIN_PATH = "/checkin/"


class LinkState(StrEnum):
    usable = "usable"
    expired = "expired"
    revoked = "revoked"
    unknown = "unknown"


@dataclass(frozen=True)
class FoundLink:
    state: LinkState
    link: CheckInLink | None = None
    person: Person | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def checkin_url(settings: Settings, token: str) -> str:
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return f"{base}{CHECKIN_PATH}{token}"


def issue_link(
    session: Session,
    workspace_id: uuid.UUID,
    person_id: uuid.UUID,
    settings: Settings,
    now: datetime,
) -> tuple[CheckInLink, str]:
    """A new link for the person: (row, token); the token is shown once and never stored."""
    person = get_person(session, workspace_id, person_id)
    token = secrets.token_urlsafe(32)
    link = CheckInLink(
        workspace_id=workspace_id,
        person_id=person.id,
        token_hash=hash_token(token),
        prefix=token[:8],
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(days=settings.checkin_link_days),
    )
    session.add(link)
    session.flush()
    return link, token


def list_links(
    session: Session, workspace_id: uuid.UUID, person_id: uuid.UUID
) -> list[CheckInLink]:
    person = get_person(session, workspace_id, person_id)
    return list(
        session.exec(
            select(CheckInLink)
            .where(
                col(CheckInLink.workspace_id) == workspace_id,
                col(CheckInLink.person_id) == person.id,
            )
            .order_by(col(CheckInLink.created_at), col(CheckInLink.id))
        ).all()
    )


def revoke_link(
    session: Session,
    workspace_id: uuid.UUID,
    person_id: uuid.UUID,
    link_id: uuid.UUID,
    now: datetime,
) -> CheckInLink:
    person = get_person(session, workspace_id, person_id)
    link = find_in_workspace(session, CheckInLink, link_id, workspace_id)
    if link is None or link.person_id != person.id:
        raise NotFound(f"{person.name} has no check-in link with id {link_id}.")
    if link.revoked_at is None:
        link.revoked_at = now
        session.add(link)
        session.flush()
    return link


def find_link(session: Session, token: str, now: datetime) -> FoundLink:
    """What a token opens; a forged, expired or revoked one opens nothing."""
    link = session.exec(
        select(CheckInLink).where(col(CheckInLink.token_hash) == hash_token(token))
    ).first()
    if link is None:
        return FoundLink(LinkState.unknown)
    if link.revoked_at is not None:
        return FoundLink(LinkState.revoked, link)
    if link.expires_at <= now:
        return FoundLink(LinkState.expired, link)
    person = session.get(Person, link.person_id)
    if person is None or person.workspace_id != link.workspace_id:
        return FoundLink(LinkState.unknown)
    return FoundLink(LinkState.usable, link, person)
