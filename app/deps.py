"""Dependency aliases, so route signatures read like prose: ``session: SessionDep, auth: ...``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.errors import Forbidden, Unauthorized
from app.models import Scope
from app.observability.logging import set_log_context
from app.security.throttle import record_failed_authentication, refuse_if_throttled
from app.services.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from app.services.tokens import find_active_token, note_token_use
from app.settings import Settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def take_sqlite_write_turn(request: Request) -> AsyncIterator[None]:
    """On SQLite, this process's write requests take turns, first come first served.

    SQLite has one writer at a time and makes the others poll with back-off; under a burst of
    concurrent writes some poll past ``busy_timeout`` and fail with "database is locked". Waiting
    here instead is fair and holds no thread (the queue is an asyncio lock). PostgreSQL needs none.
    At its first write the request also takes the engine's write turn (app/db.py), which the
    embedded worker's threads take too.
    """
    if request.method in READ_METHODS or get_engine(request).dialect.name != "sqlite":
        yield
        return
    loop = asyncio.get_running_loop()
    state = request.app.state
    turn: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = getattr(
        state, "sqlite_write_turn", None
    )
    if turn is None or turn[0] is not loop:  # a lock belongs to one event loop
        turn = (loop, asyncio.Lock())
        state.sqlite_write_turn = turn
    async with turn[1]:
        yield


def get_session(
    request: Request, _turn: Annotated[None, Depends(take_sqlite_write_turn)]
) -> Iterator[Session]:
    """One session and one transaction per request, and the one place that ends it: committed
    when the route returns, rolled back when anything raises. Routes and services never commit
    (services flush when they need ids); a route that answers a refusal without raising, or a dry
    run, rolls back what it wrote. A commit that fails is an error answer, never a 2xx for lost
    data: the dependency ends before the answer is sent (``scope="function"``).

    One route commits early on purpose: registering a tracker webhook stores its callback before
    the tracker is called, since the tracker may deliver before it answers.
    """
    with Session(get_engine(request), expire_on_commit=False) as session:
        yield session
        session.commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API token from `planbridge token create`")


@dataclass(frozen=True)
class AuthContext:
    workspace_id: uuid.UUID
    scope: Scope
    token_id: uuid.UUID
    token_name: str

    @property
    def actor(self) -> str:
        return f"token:{self.token_name or self.token_id}"


def _authenticate(
    request: Request,
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
) -> AuthContext:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("A bearer API token is required (Authorization: Bearer <token>).")
    record = find_active_token(session, credentials.credentials)
    if record is None:
        # Only failed attempts are slowed down: a valid token is always served, so one broken
        # script behind an office's NAT cannot lock the office out. Tokens are long random
        # secrets; answering a right guess gives an attacker nothing the guess did not.
        refuse_if_throttled(request)
        record_failed_authentication(request)
        raise Unauthorized("The API token is unknown or revoked.")
    note_token_use(get_engine(request), record)
    set_log_context(workspace_id=record.workspace_id)
    context = AuthContext(
        workspace_id=record.workspace_id,
        scope=record.scope,
        token_id=record.id,
        token_name=record.name,
    )
    request.state.auth = context
    return context


def require(scope: Scope):  # type: ignore[no-untyped-def]
    def dependency(
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> AuthContext:
        context = _authenticate(request, session, credentials)
        if not context.scope.allows(scope):
            raise Forbidden(f"This token has scope '{context.scope}'; this action needs '{scope}'.")
        return context

    return dependency


ReadAuth = Annotated[AuthContext, Depends(require(Scope.read))]
WriteAuth = Annotated[AuthContext, Depends(require(Scope.write))]
AdminAuth = Annotated[AuthContext, Depends(require(Scope.admin))]


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def _page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (at most {MAX_LIMIT})")
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip, in the order (created_at, id)")
    ] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]
