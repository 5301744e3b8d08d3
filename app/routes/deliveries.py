"""``/api/v1/deliveries``: the log of messages to people (e-mail, chat) and their outcomes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.deps import PageDep, ReadAuth, SessionDep
from app.errors import problem_responses
from app.routes.paging import page_response
from app.schemas.common import Page
from app.schemas.people_loop import MessageDeliveryPublic
from app.services.messages.outbox import list_deliveries

router = APIRouter(prefix="/deliveries", tags=["people"])


@router.get("", response_model=Page[MessageDeliveryPublic], responses=problem_responses(401, 422))
def list_message_deliveries(
    session: SessionDep,
    auth: ReadAuth,
    page: PageDep,
    person_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    result = list_deliveries(
        session, auth.workspace_id, person_id=person_id, limit=page.limit, offset=page.offset
    )
    return page_response(Page[MessageDeliveryPublic], result)
