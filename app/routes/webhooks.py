"""``/webhooks/{connection_id}``: tracker webhook deliveries (no API token: the signature is the
auth)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.db import utcnow
from app.errors import NotFound, PayloadTooLarge, Unauthorized, problem_responses
from app.models import Connection
from sync.inbox import delivery_id_of, store_delivery, verify_delivery

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _connection(request: Request, connection_id: uuid.UUID) -> Connection:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        connection = session.get(Connection, connection_id)
    if connection is None:
        raise NotFound(f"No connection with id {connection_id}.")
    return connection


def _verify_and_store(request: Request, connection_id: uuid.UUID, body: bytes) -> bool:
    settings = request.app.state.settings
    connection = _connection(request, connection_id)
    now = utcnow()
    headers = dict(request.headers)
    if not verify_delivery(settings, connection, headers, body, now):
        raise Unauthorized("The webhook signature is missing or does not match.")
    delivery_id = delivery_id_of(settings, connection, headers, body)
    return store_delivery(request.app.state.engine, connection, delivery_id, headers, body, now)


@router.head("/{connection_id}", responses=problem_responses(404, 422))
def webhook_handshake(connection_id: uuid.UUID, request: Request) -> Response:
    """Trello checks a callback URL with HEAD before it creates the webhook."""
    _connection(request, connection_id)
    return Response(status_code=200)


@router.post(
    "/{connection_id}", status_code=202, responses=problem_responses(400, 401, 404, 413, 422)
)
async def receive_webhook(connection_id: uuid.UUID, request: Request) -> Response:
    """Verify, store once by delivery id, answer 202; the engine processes it."""
    settings = request.app.state.settings
    limit = settings.max_body_bytes
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The body exceeds the limit of {limit} bytes.")
    is_new = await run_in_threadpool(_verify_and_store, request, connection_id, body)
    worker = getattr(request.app.state, "sync_worker", None)
    if is_new and worker is not None:
        worker.wake()
    return Response(status_code=202)
