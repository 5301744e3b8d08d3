"""``/api/v1/sync``: pushes and webhook deliveries that gave up (dead), and retrying them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.deps import PageDep, ReadAuth, SessionDep, WriteAuth
from app.errors import problem_responses
from app.routes.paging import page_response
from app.schemas.connections import DeadDelivery, DeadDeliveryPage, DeadLink, DeadLinkPage
from app.services import sync_status

router = APIRouter(prefix="/sync", tags=["sync"])


@router.get("/dead", response_model=DeadLinkPage, responses=problem_responses(401, 422))
def list_dead(session: SessionDep, auth: ReadAuth, page: PageDep) -> Response:
    """Items and goal mirrors whose push failed too often; they wait for a retry."""
    result = sync_status.list_dead_links(
        session, auth.workspace_id, limit=page.limit, offset=page.offset
    )
    return page_response(DeadLinkPage, result)


@router.post("/dead/{link_id}/retry", responses=problem_responses(401, 403, 404, 422))
def retry_dead(link_id: uuid.UUID, session: SessionDep, auth: WriteAuth) -> DeadLink:
    """Try a dead push again from scratch (attempts reset)."""
    link = sync_status.retry_dead_link(session, auth.workspace_id, link_id)
    return DeadLink.model_validate(link)


@router.get(
    "/dead-deliveries", response_model=DeadDeliveryPage, responses=problem_responses(401, 422)
)
def list_dead_deliveries(session: SessionDep, auth: ReadAuth, page: PageDep) -> Response:
    """Webhook deliveries the engine gave up on (a body it cannot use, or too many failed
    attempts), with the last error; they wait for a retry."""
    result = sync_status.list_dead_deliveries(
        session, auth.workspace_id, limit=page.limit, offset=page.offset
    )
    return page_response(DeadDeliveryPage, result)


@router.post(
    "/dead-deliveries/{delivery_id}/retry", responses=problem_responses(401, 403, 404, 422)
)
def retry_dead_delivery(
    delivery_id: uuid.UUID, session: SessionDep, auth: WriteAuth
) -> DeadDelivery:
    """Process a dead delivery again from scratch (attempts reset)."""
    delivery = sync_status.retry_dead_delivery(session, auth.workspace_id, delivery_id)
    return DeadDelivery.model_validate(delivery)
