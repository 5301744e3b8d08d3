"""``/api/v1/subscriptions``: outbound notification targets, secret rotation and the delivery
log."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.deps import AdminAuth, PageDep, ReadAuth, SessionDep, SettingsDep
from app.errors import problem_responses
from app.models.execution import Subscription
from app.routes.paging import page_response
from app.routes.rules_beyond_schema import HOST_ALLOWED, rules_beyond_schema
from app.schemas.common import Page
from app.schemas.execution import (
    DeliveryPublic,
    SecretRotation,
    SubscriptionCreate,
    SubscriptionPublic,
)
from app.services import subscriptions
from app.services.health_changes import record_health_baselines
from app.services.pagination import PageSlice

router = APIRouter(prefix="/subscriptions", tags=["notifications"])


def _public(subscription: Subscription, secret: str | None = None) -> SubscriptionPublic:
    public = SubscriptionPublic.model_validate(subscription)
    public.secret = secret
    return public


@router.post(
    "",
    status_code=201,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra=rules_beyond_schema(("body.url", HOST_ALLOWED)),
)
def create_subscription(
    body: SubscriptionCreate, session: SessionDep, settings: SettingsDep, auth: AdminAuth
) -> SubscriptionPublic:
    """Subscribe a URL to signed JSON events; the secret (given or generated) is shown once."""
    subscription, secret = subscriptions.create_subscription(
        session, auth.workspace_id, body, settings
    )
    if "goal.health_changed" in subscription.event_types:
        # Known from now on, so the first goal.health_changed is a real change.
        record_health_baselines(session, auth.workspace_id, settings)
    return _public(subscription, secret)


@router.get("", response_model=Page[SubscriptionPublic], responses=problem_responses(401, 422))
def list_subscriptions(session: SessionDep, auth: ReadAuth, page: PageDep) -> Response:
    result = subscriptions.list_subscriptions(
        session, auth.workspace_id, limit=page.limit, offset=page.offset
    )
    rows = [_public(row) for row in result.rows]
    return page_response(
        Page[SubscriptionPublic], PageSlice(rows, result.total, result.limit, result.offset)
    )


@router.get("/{subscription_id}", responses=problem_responses(401, 404, 422))
def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, auth: ReadAuth
) -> SubscriptionPublic:
    return _public(subscriptions.get_subscription(session, auth.workspace_id, subscription_id))


@router.delete(
    "/{subscription_id}", status_code=204, responses=problem_responses(401, 403, 404, 422)
)
def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, auth: AdminAuth
) -> Response:
    subscriptions.delete_subscription(session, auth.workspace_id, subscription_id)
    return Response(status_code=204)


@router.post(
    "/{subscription_id}/rotate-secret", responses=problem_responses(401, 403, 404, 413, 422)
)
def rotate_secret(
    subscription_id: uuid.UUID,
    body: SecretRotation,
    session: SessionDep,
    settings: SettingsDep,
    auth: AdminAuth,
) -> SubscriptionPublic:
    """New secret; during ``grace_seconds`` every event is signed with both (two ``v1`` values)."""
    subscription, secret = subscriptions.rotate_secret(
        session, auth.workspace_id, subscription_id, body, settings
    )
    return _public(subscription, secret)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=Page[DeliveryPublic],
    responses=problem_responses(401, 404, 422),
)
def list_deliveries(
    subscription_id: uuid.UUID, session: SessionDep, auth: ReadAuth, page: PageDep
) -> Response:
    """The delivery log, newest first: attempts, last status, next attempt."""
    result = subscriptions.list_deliveries(
        session, auth.workspace_id, subscription_id, limit=page.limit, offset=page.offset
    )
    return page_response(Page[DeliveryPublic], result)
