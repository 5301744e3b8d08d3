"""``/api/v1/tokens``: the workspace's API tokens (admin scope); each is shown once, on creation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlmodel import select

from app.deps import AdminAuth, PageDep, SessionDep
from app.errors import problem_responses
from app.models import ApiToken
from app.routes.paging import page_response
from app.schemas.tokens import TokenCreate, TokenCreated, TokenPage, TokenPublic
from app.services.pagination import creation_order, paginate
from app.services.tenancy import get_in_workspace
from app.services.tokens import issue_token, revoke_token

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=201, responses=problem_responses(401, 403, 413, 422))
def create_token(body: TokenCreate, session: SessionDep, auth: AdminAuth) -> TokenCreated:
    """Create a token in the caller's workspace; the response is the only time it is shown."""
    issued = issue_token(session, auth.workspace_id, body.scope, body.name)
    return TokenCreated(
        **TokenPublic.model_validate(issued.record).model_dump(), token=issued.token
    )


@router.get("", response_model=TokenPage, responses=problem_responses(401, 403, 422))
def list_tokens(session: SessionDep, auth: AdminAuth, page: PageDep) -> Response:
    """Every token of the workspace, revoked ones included: prefix and scope, never the token."""
    statement = select(ApiToken).where(ApiToken.workspace_id == auth.workspace_id)
    result = paginate(
        session,
        statement,
        creation_order(ApiToken),
        limit=page.limit,
        offset=page.offset,
    )
    return page_response(TokenPage, result)


@router.delete(
    "/{token_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
def revoke(token_id: uuid.UUID, session: SessionDep, auth: AdminAuth) -> None:
    """Revoke a token: it stops working at once (revoking twice is harmless)."""
    record = get_in_workspace(session, ApiToken, token_id, auth.workspace_id)
    if record.revoked_at is None:
        revoke_token(session, record)
