"""``/api/v1/sync``: pushes that gave up (dead links), and retrying them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlmodel import col, select

from app.deps import PageDep, ReadAuth, SessionDep, WriteAuth
from app.errors import NotFound, problem_responses
from app.models import ExternalLink
from app.schemas.connections import DeadLink, DeadLinkPage
from app.services.pagination import paginate

router = APIRouter(prefix="/sync", tags=["sync"])


@router.get("/dead", responses=problem_responses(401, 422))
def list_dead(session: SessionDep, auth: ReadAuth, page: PageDep) -> DeadLinkPage:
    """Items and goal mirrors whose push failed too often; they wait for a retry."""
    statement = select(ExternalLink).where(
        col(ExternalLink.workspace_id) == auth.workspace_id, col(ExternalLink.dead).is_(True)
    )
    result = paginate(
        session,
        statement,
        [col(ExternalLink.created_at), col(ExternalLink.id)],
        limit=page.limit,
        offset=page.offset,
    )
    return DeadLinkPage(
        items=[DeadLink.model_validate(row) for row in result.rows],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post("/dead/{link_id}/retry", responses=problem_responses(401, 403, 404, 422))
def retry_dead(link_id: uuid.UUID, session: SessionDep, auth: WriteAuth) -> DeadLink:
    """Try a dead push again from scratch (attempts reset)."""
    link = session.get(ExternalLink, link_id)
    if link is None or link.workspace_id != auth.workspace_id or not link.dead:
        raise NotFound(f"No dead sync link with id {link_id} in this workspace.")
    link.dead = False
    link.attempts = 0
    link.next_attempt_at = None
    session.add(link)
    session.commit()
    return DeadLink.model_validate(link)
