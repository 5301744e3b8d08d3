"""Dashboard access: sign-in with an API token, server-side sessions, CSRF tokens, sign-out.

Decision: the cookie carries a random session id, not the API token. Only the id's SHA-256 hash
is stored (``DashboardSession``), so a database leak does not hand out sessions, signing out really
ends the session on the server, and revoking the API token ends every browser session opened with it
(the token is checked on every request). The cookie is HttpOnly (no script can read it),
SameSite=Strict (no cross-site request carries it) and Secure whenever the dashboard is served over
HTTPS.

CSRF: every signed-in form carries the session's synchronizer token and every POST must echo it. The
sign-in form has no session yet, so it uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Form, Request, Response
from sqlmodel import Session, col, delete, select

from app.db import utcnow
from app.deps import SessionDep
from app.models import ApiToken, DashboardSession, Scope
from app.services.tokens import find_active_token

SESSION_COOKIE = "pb_session"
SIGNIN_CSRF_COOKIE = "pb_signin_csrf"
# A working day and a bit: the weekly meeting and a Monday morning fit, a forgotten laptop does not.
SESSION_LIFETIME = timedelta(hours=12)


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A POST without the right CSRF token: refused with 403 and nothing changed."""


class ScopeTooNarrow(Exception):
    """A read-only token tried to change something."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the workspace every query is scoped to, and the session's CSRF token."""

    workspace_id: uuid.UUID
    scope: Scope
    token_name: str
    csrf_token: str
    session_id: uuid.UUID
    token_id: uuid.UUID

    @property
    def actor(self) -> str:
        return f"dashboard:{self.token_name or self.session_id}"

    @property
    def can_write(self) -> bool:
        return self.scope.allows(Scope.write)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def tokens_match(expected: str, submitted: str | None) -> bool:
    # Constant-time, so the comparison does not leak how much of a guess was right.
    return submitted is not None and hmac.compare_digest(expected.encode(), submitted.encode())


def is_secure_request(request: Request) -> bool:
    public_url = request.app.state.settings.public_url or ""
    return request.url.scheme == "https" or str(public_url).startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_secure_request(request),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="strict", secure=is_secure_request(request)
    )


def open_session(db: Session, token: str) -> tuple[str, DashboardSession] | None:
    """A new session for a valid API token: (cookie value, row); None for an unknown/revoked one."""
    record = find_active_token(db, token)
    if record is None:
        return None
    cookie_value = secrets.token_urlsafe(32)
    row = DashboardSession(
        workspace_id=record.workspace_id,
        token_id=record.id,
        session_hash=hash_secret(cookie_value),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + SESSION_LIFETIME,
    )
    db.add(row)
    # Expired sessions of this token are cleaned up here rather than by a separate job.
    db.exec(
        delete(DashboardSession).where(
            col(DashboardSession.token_id) == record.id,
            col(DashboardSession.expires_at) < utcnow(),
        )
    )
    db.flush()
    return cookie_value, row


def find_viewer(db: Session, cookie_value: str | None) -> Viewer | None:
    if not cookie_value:
        return None
    found = db.exec(
        select(DashboardSession, ApiToken)
        .join(ApiToken, col(ApiToken.id) == col(DashboardSession.token_id))
        .where(DashboardSession.session_hash == hash_secret(cookie_value))
    ).first()
    if found is None:
        return None
    row, token = found
    if row.expires_at <= utcnow() or token.revoked_at is not None:
        return None
    return Viewer(
        workspace_id=row.workspace_id,
        scope=token.scope,
        token_name=token.name,
        csrf_token=row.csrf_token,
        session_id=row.id,
        token_id=token.id,
    )


def close_session(db: Session, cookie_value: str | None) -> None:
    if cookie_value:
        db.exec(
            delete(DashboardSession).where(
                col(DashboardSession.session_hash) == hash_secret(cookie_value)
            )
        )


def current_viewer(request: Request, db: SessionDep) -> Viewer:
    viewer = find_viewer(db, request.cookies.get(SESSION_COOKIE))
    if viewer is None:
        raise SignInRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


# The CSRF token a dashboard form sends back (``require_form_write``, the sign-in form).
CsrfField = Annotated[str, Form(max_length=200)]


def require_form_write(viewer: Viewer, submitted_csrf: str | None) -> None:
    """A state-changing form: the CSRF token must match and the token must be allowed to write."""
    if not tokens_match(viewer.csrf_token, submitted_csrf):
        raise CsrfRefused()
    if not viewer.can_write:
        raise ScopeTooNarrow()


def safe_next_path(candidate: str | None) -> str:
    """Only a local path: ``//evil.example`` or ``https://...`` would make an open redirect."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return "/"
    if "\\" in candidate or any(ord(character) < 32 for character in candidate):
        return "/"
    return candidate
