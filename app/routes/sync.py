"""``/api/v1/sync``: pushes that gave up (dead links), and retrying them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.deps import PageDep, ReadAuth, SessionDep, WriteAuth
from app.errors import problem_responses
from app.schemas.connections import DeadLink, DeadLinkPage
from app.services import sync_status

router = APIRouter(prefix="/sync", tags=["sync"])


@router.get("/dead", responses=problem_responses(401, 422))
def list_dead(session: SessionDep, auth: ReadAuth, page: PageDep) -> DeadLinkPage:
    """Items and goal mirrors whose push failed too often; they wait for a retry."""
    result = sync_status.list_dead_links(
        session, auth.workspace_id, limit=page.limit, offset=page.offset
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
    link = sync_status.retry_dead_link(session, auth.workspace_id, link_id)
    session.commit()
    return DeadLink.model_validate(link)
