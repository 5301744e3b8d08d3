"""``/api/v1/connections``: tracker accounts and targets (admin to change, read to look)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response

from app.deps import AdminAuth, PageDep, ReadAuth, SessionDep, SettingsDep
from app.errors import InvalidField, ServiceError, problem_responses
from app.models import Connection
from app.routes.paging import page_response
from app.routes.rules_beyond_schema import HOST_ALLOWED, TRACKER_CHECK, rules_beyond_schema
from app.schemas.connections import (
    ConnectionCreate,
    ConnectionCreated,
    ConnectionHealth,
    ConnectionPage,
    ConnectionPublic,
    ConnectionUpdate,
    WebhookRegister,
    WebhookRegistered,
    WebhookSecretRotate,
    WebhookSecretRotated,
)
from app.services import connections, sync_status
from app.services.pagination import PageSlice
from app.settings import Settings
from connectors.base import ConnectorError
from connectors.registry import build_connector

router = APIRouter(prefix="/connections", tags=["connections"])
CONNECTION_RULES = rules_beyond_schema(
    ("body.base_url", f"a scheme the connector takes; {HOST_ALLOWED}; {TRACKER_CHECK}"),
    ("body.credentials", TRACKER_CHECK),
    ("body.scope", TRACKER_CHECK),
    ("body.config", f"the connector's settings; {TRACKER_CHECK}"),
)


class TrackerRefused(ServiceError):
    status_code = 502
    title = "Tracker refused the request"


def _public(settings: Settings, connection: Connection) -> dict[str, Any]:
    return ConnectionPublic(
        id=connection.id,
        kind=connection.kind,
        name=connection.name,
        base_url=connection.base_url,
        scope=connection.scope,
        config=connection.config,
        poll_interval_seconds=connection.poll_interval_seconds,
        state=connection.state,
        paused_reason=connection.paused_reason,
        credential_fields=connections.credential_fields(settings, connection),
        webhook_path=connections.webhook_path(connection.id),
        last_pull_at=connection.last_pull_at,
        last_error=connection.last_error,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    ).model_dump()


@router.post(
    "",
    status_code=201,
    responses=problem_responses(400, 401, 403, 413, 422),
    openapi_extra=CONNECTION_RULES,
)
def create_connection(
    body: ConnectionCreate, session: SessionDep, settings: SettingsDep, auth: AdminAuth
) -> ConnectionCreated:
    """Check the connection against the tracker, then store it; the webhook secret is shown once."""
    connection, secret = connections.create_connection(
        session, settings, auth.workspace_id, body.model_dump()
    )
    return ConnectionCreated(**_public(settings, connection), webhook_secret=secret)


@router.get("", response_model=ConnectionPage, responses=problem_responses(401, 422))
def list_connections(
    session: SessionDep, settings: SettingsDep, auth: ReadAuth, page: PageDep
) -> Response:
    result = connections.list_connections(
        session, auth.workspace_id, limit=page.limit, offset=page.offset
    )
    rows = [ConnectionPublic(**_public(settings, row)) for row in result.rows]
    return page_response(ConnectionPage, PageSlice(rows, result.total, result.limit, result.offset))


@router.get("/{connection_id}", responses=problem_responses(401, 404, 422))
def get_connection(
    connection_id: uuid.UUID, session: SessionDep, settings: SettingsDep, auth: ReadAuth
) -> ConnectionPublic:
    connection = connections.get_connection(session, auth.workspace_id, connection_id)
    return ConnectionPublic(**_public(settings, connection))


@router.patch(
    "/{connection_id}",
    responses=problem_responses(400, 401, 403, 404, 413, 422),
    openapi_extra=CONNECTION_RULES,
)
def update_connection(
    connection_id: uuid.UUID,
    body: ConnectionUpdate,
    session: SessionDep,
    settings: SettingsDep,
    auth: AdminAuth,
) -> ConnectionPublic:
    """Change a connection; new credentials, target or config are checked before saving."""
    connection = connections.get_connection(session, auth.workspace_id, connection_id)
    values = body.model_dump(exclude_unset=True)
    connections.update_connection(session, settings, connection, values)
    return ConnectionPublic(**_public(settings, connection))


@router.delete("/{connection_id}", status_code=204, responses=problem_responses(401, 403, 404, 422))
def delete_connection(connection_id: uuid.UUID, session: SessionDep, auth: AdminAuth) -> Response:
    """Forget the connection and its links (tracker objects are left alone)."""
    connection = connections.get_connection(session, auth.workspace_id, connection_id)
    session.delete(connection)
    return Response(status_code=204)


@router.post(
    "/{connection_id}/webhook-secret/rotate", responses=problem_responses(400, 401, 403, 404, 422)
)
def rotate_webhook_secret(
    connection_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    auth: AdminAuth,
    body: WebhookSecretRotate | None = None,
) -> WebhookSecretRotated:
    """A new webhook secret (shown once); the old one still verifies until the grace ends."""
    connection = connections.get_connection(session, auth.workspace_id, connection_id)
    grace = timedelta(hours=(body or WebhookSecretRotate()).grace_hours)
    secret, until = connections.rotate_webhook_secret(session, settings, connection, grace)
    return WebhookSecretRotated(webhook_secret=secret, previous_valid_until=until)


@router.post(
    "/{connection_id}/resync", status_code=202, responses=problem_responses(401, 403, 404, 422)
)
def resync_connection(
    connection_id: uuid.UUID, session: SessionDep, auth: AdminAuth
) -> dict[str, Any]:
    """Full reconcile: pull everything again and re-check every link (done by the engine)."""
    connection = connections.get_connection(session, auth.workspace_id, connection_id)
    links = connections.request_resync(session, connection)
    return {"connection_id": str(connection.id), "links": links, "status": "scheduled"}


@router.post("/{connection_id}/resume", responses=problem_responses(401, 403, 404, 422))
def resume_connection(
    connection_id: uuid.UUID, session: SessionDep, settings: SettingsDep, auth: AdminAuth
) -> ConnectionPublic:
    """Resume a paused connection (after fixing its credentials)."""
    connection = connections.get_connection(session, auth.workspace_id, connection_id)
    connections.resume_connection(session, connection)
    return ConnectionPublic(**_public(settings, connection))


@router.get("/{connection_id}/health", responses=problem_responses(401, 404, 422))
def connection_health(
    connection_id: uuid.UUID, session: SessionDep, settings: SettingsDep, auth: ReadAuth
) -> ConnectionHealth:
    """Last pull, lag, errors, rate-limit headroom, webhook deliveries and the push queue."""
    return sync_status.connection_health(session, settings, auth.workspace_id, connection_id)


@router.post(
    "/{connection_id}/webhook",
    responses=problem_responses(400, 401, 403, 404, 422, 502),
    openapi_extra=rules_beyond_schema(
        ("body.callback_url", "given, or PLANBRIDGE_PUBLIC_URL set"),
    ),
)
def register_webhook(
    connection_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    auth: AdminAuth,
    body: WebhookRegister | None = None,
) -> WebhookRegistered:
    """Register planbridge's webhook in the tracker, where its API allows it."""
    connection = connections.get_connection(session, auth.workspace_id, connection_id)
    callback = (body.callback_url if body else None) or (
        settings.public_url.rstrip("/") + connections.webhook_path(connection.id)
        if settings.public_url
        else None
    )
    if callback is None:
        raise InvalidField(
            "callback_url", "give callback_url or set PLANBRIDGE_PUBLIC_URL to planbridge's address"
        )
    # Stored before registering: Trello delivers as soon as the hook exists, signed over this URL.
    previous = connections.remember_callback_url(connection, callback)
    session.commit()
    connector = build_connector(
        connection.kind, connections.connector_settings(settings, connection)
    )
    try:
        hook_id = connector.register_webhook(callback)
    except ConnectorError as exc:
        connections.remember_callback_url(connection, previous)
        session.commit()
        raise TrackerRefused(f"the tracker did not register the webhook: {exc}") from exc
    finally:
        connector.close()
    return WebhookRegistered(hook_id=hook_id, callback_url=callback)
