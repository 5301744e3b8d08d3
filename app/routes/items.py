"""``/api/v1/items``: action items, the small owned steps that become tracker issues and cards."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session

from app.deps import PageDep, ReadAuth, SessionDep, SettingsDep, WriteAuth
from app.errors import problem_responses
from app.models import ActionItem, ItemStatus
from app.models.sync import SyncState
from app.routes.paging import page_response
from app.routes.rules_beyond_schema import IN_WORKSPACE, rules_beyond_schema
from app.schemas.common import RuleWarning
from app.schemas.items import (
    ActionItemCreate,
    ActionItemPage,
    ActionItemPublic,
    ActionItemUpdate,
    ActionItemWritten,
    ItemEventPage,
)
from app.schemas.tracker_links import TrackerLink
from app.services import items
from app.services.tracker_links import item_links

router = APIRouter(prefix="/items", tags=["action items"])
ITEM_RULES = rules_beyond_schema(
    ("body.goal_id", IN_WORKSPACE),
    ("body.owner_id", IN_WORKSPACE),
    ("body.connection_id", IN_WORKSPACE),
    ("body.start_date", "not after due_date"),
    (
        "body.estimate_hours",
        "at most PLANBRIDGE_MAX_ITEM_HOURS; with PLANBRIDGE_STRICT_CAPACITY "
        "on, not making the owner's week over capacity worse",
    ),
)


def _public(session: Session, item: ActionItem) -> ActionItemPublic:
    """The item with its tracker links."""
    public = ActionItemPublic.model_validate(item)
    found = item_links(session, item.workspace_id, [item.id]).get(item.id, [])
    public.links = [TrackerLink.model_validate(link) for link in found]
    return public


def _written(session: Session, item: ActionItem, warnings: list[RuleWarning]) -> ActionItemWritten:
    return ActionItemWritten(**_public(session, item).model_dump(), warnings=warnings)


@router.post(
    "",
    status_code=201,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra=ITEM_RULES,
)
def create_item(
    body: ActionItemCreate, session: SessionDep, auth: WriteAuth, settings: SettingsDep
) -> ActionItemWritten:
    """Create an action item. Owner, due date and estimate are required; an estimate above
    ``max_item_hours`` is rejected (split the work); a due date after the plan's end or in the past
    is accepted with ``warnings``."""
    item, warnings = items.create_item(
        session, auth.workspace_id, body.model_dump(), actor=auth.actor, settings=settings
    )
    return _written(session, item, warnings)


@router.get("", response_model=ActionItemPage, responses=problem_responses(401, 422))
def list_items(
    session: SessionDep,
    auth: ReadAuth,
    page: PageDep,
    goal_id: Annotated[uuid.UUID | None, Query()] = None,
    plan_id: Annotated[uuid.UUID | None, Query()] = None,
    owner_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[list[ItemStatus] | None, Query(description="Repeat for several")] = None,
    sync_state: Annotated[
        list[SyncState] | None,
        Query(description="Items with a tracker link in this sync state; repeat for several"),
    ] = None,
) -> Response:
    """Items with their tracker ``links`` (key, URL, sync state); a page's links come in one
    query. ``sync_state`` keeps items with a link in one of the given states."""
    result = items.list_items(
        session,
        auth.workspace_id,
        goal_id=goal_id,
        plan_id=plan_id,
        owner_id=owner_id,
        statuses=status,
        sync_states=sync_state,
        limit=page.limit,
        offset=page.offset,
    )
    return page_response(ActionItemPage, result)


@router.get("/{item_id}", responses=problem_responses(401, 404, 422))
def get_item(item_id: uuid.UUID, session: SessionDep, auth: ReadAuth) -> ActionItemPublic:
    return _public(session, items.get_item(session, auth.workspace_id, item_id))


@router.patch(
    "/{item_id}",
    responses=problem_responses(401, 403, 404, 413, 422),
    openapi_extra=ITEM_RULES,
)
def update_item(
    item_id: uuid.UUID,
    body: ActionItemUpdate,
    session: SessionDep,
    auth: WriteAuth,
    settings: SettingsDep,
) -> ActionItemWritten:
    """Change some fields; each changed field is recorded as an event and bumps ``revision``."""
    item, warnings = items.update_item(
        session,
        auth.workspace_id,
        item_id,
        body.model_dump(exclude_unset=True),
        actor=auth.actor,
        settings=settings,
    )
    return _written(session, item, warnings)


@router.delete(
    "/{item_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
def delete_item(item_id: uuid.UUID, session: SessionDep, auth: WriteAuth) -> None:
    items.delete_item(session, auth.workspace_id, item_id, actor=auth.actor)


@router.get(
    "/{item_id}/events", response_model=ItemEventPage, responses=problem_responses(401, 404, 422)
)
def list_item_events(
    item_id: uuid.UUID, session: SessionDep, auth: ReadAuth, page: PageDep
) -> Response:
    """The item's history (oldest first): creation, status and planning changes."""
    result = items.list_item_events(
        session, auth.workspace_id, item_id, limit=page.limit, offset=page.offset
    )
    return page_response(ItemEventPage, result)
