"""API tokens: created once, stored only as a SHA-256 hash, looked up by that hash."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import ApiToken, Scope, Workspace

TOKEN_PREFIX = "pb_"

log = logging.getLogger(__name__)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: ApiToken


def get_or_create_workspace(session: Session, name: str) -> Workspace:
    workspace = session.exec(select(Workspace).where(Workspace.name == name)).first()
    if workspace is None:
        workspace = Workspace(name=name)
        session.add(workspace)
        session.flush()
    return workspace


def issue_token(
    session: Session, workspace_id: uuid.UUID, scope: Scope, name: str = ""
) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        workspace_id=workspace_id,
        name=name,
        token_hash=hash_token(token),
        prefix=token[:10],
        scope=scope,
    )
    session.add(record)
    session.flush()
    return IssuedToken(token=token, record=record)


def find_active_token(session: Session, token: str) -> ApiToken | None:
    record = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if record is None or record.revoked_at is not None:
        return None
    return record


def revoke_token(session: Session, record: ApiToken) -> None:
    record.revoked_at = utcnow()
    session.add(record)


# How stale ``last_used_at`` may get: recording every use would make every read a write.
LAST_USED_PRECISION = timedelta(minutes=15)


def note_token_use(engine: Engine, record: ApiToken) -> None:
    """Move ``last_used_at`` forward, at most every LAST_USED_PRECISION, in its own transaction.

    Best effort: a busy or unreachable database must not fail the request being authenticated.
    """
    now = utcnow()
    if record.last_used_at is not None and now - record.last_used_at < LAST_USED_PRECISION:
        return
    try:
        with engine.begin() as connection:
            connection.execute(
                update(ApiToken).where(col(ApiToken.id) == record.id).values(last_used_at=now)
            )
    except OperationalError:
        log.info("token use not recorded (database busy)", extra={"token_id": str(record.id)})
