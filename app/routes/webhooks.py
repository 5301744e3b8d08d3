"""``/webhooks/{connection_id}``: tracker webhook deliveries (no API token: the signature is the
auth).

The lean path of the service (a tracker may send thousands a second): the body is read once, the
signature is checked against a cached per-connection verifier (sync/inbox.py), and deliveries that
arrive together are stored by one INSERT (group commit); no ORM session, no connection-row update,
no connector built per delivery.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.db import utcnow
from app.errors import NotFound, PayloadTooLarge, Unauthorized, problem_responses
from app.observability.metrics import record_webhook_delivery
from sync.inbox import DeliveryBatcher, DeliveryVerifier, VerifierCache, delivery_row

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _verifiers(request: Request) -> VerifierCache:
    state = request.app.state
    cache: VerifierCache | None = getattr(state, "webhook_verifiers", None)
    if cache is None:
        cache = state.webhook_verifiers = VerifierCache(state.settings, state.engine)
    return cache


def _batcher(request: Request) -> DeliveryBatcher:
    """The app's group-commit batcher for the running event loop (a TestClient may run several)."""
    loop = asyncio.get_running_loop()
    state = request.app.state
    batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DeliveryBatcher]
    batchers = getattr(state, "webhook_batchers", None) or weakref.WeakKeyDictionary()
    state.webhook_batchers = batchers
    found = batchers.get(loop)
    if found is None:
        found = batchers[loop] = DeliveryBatcher(state.engine)
    return found


def _no_connection(connection_id: uuid.UUID) -> NotFound:
    return NotFound(f"No connection with id {connection_id}.")


@router.head("/{connection_id}", responses=problem_responses(404, 422))
def webhook_handshake(connection_id: uuid.UUID, request: Request) -> Response:
    """Trello checks a callback URL with HEAD before it creates the webhook."""
    cache = _verifiers(request)
    if cache.cached(connection_id) is None and cache.load(connection_id, utcnow()) is None:
        raise _no_connection(connection_id)
    return Response(status_code=200)


@router.post(
    "/{connection_id}", status_code=202, responses=problem_responses(400, 401, 404, 413, 422)
)
async def receive_webhook(connection_id: uuid.UUID, request: Request) -> Response:
    """Verify, store once by delivery id, answer 202; the engine processes it."""
    limit = request.app.state.settings.max_body_bytes
    body = await request.body()  # BodySizeLimit has already cut a longer stream off
    if len(body) > limit:
        record_webhook_delivery(connection_id, "rejected")
        raise PayloadTooLarge(f"The body exceeds the limit of {limit} bytes.")
    headers = dict(request.headers)
    now = utcnow()
    cache = _verifiers(request)
    # A cached verifier is checked on the event loop (an HMAC, microseconds); loading one reads
    # the database, so that happens in a thread.
    cached = cache.cached(connection_id)
    verdict: DeliveryVerifier | bool | None
    if cached is not None and cached.verify(headers, body, now):
        verdict = cached
    else:
        verdict = await run_in_threadpool(cache.verify, connection_id, headers, body, now)
    if verdict is None:
        record_webhook_delivery(connection_id, "rejected")
        raise _no_connection(connection_id)
    if not isinstance(verdict, DeliveryVerifier):
        record_webhook_delivery(connection_id, "rejected")
        raise Unauthorized("The webhook signature is missing or does not match.")
    delivery_id = verdict.delivery_id(headers, body)
    is_new = await _batcher(request).store(delivery_row(verdict, delivery_id, headers, body, now))
    record_webhook_delivery(connection_id, "accepted" if is_new else "duplicate")
    worker = getattr(request.app.state, "sync_worker", None)
    if is_new and worker is not None:
        worker.wake()
    return Response(status_code=202)
