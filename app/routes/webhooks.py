"""``/webhooks/{connection_id}``: tracker webhook deliveries (no API token: the signature is the
auth).

The busiest path of the service (a tracker may send thousands a second), so it has a lean route:
``WebhookReceiver`` sits ahead of the app's middleware stack and answers a well-formed
``POST /webhooks/{uuid}`` (a canonical UUID, a Content-Length within the body limit) itself. It
keeps what the stack would give the request: the request id, the access line and the latency
histogram (the same observability middleware wraps it), the body limit and problem+json errors;
it skips the routing over every API route, dependency solving and the exception middlewares (about
half the CPU of a delivery). Any other request to this path (a chunked body, a declared length
over the limit, a malformed id, another method) goes through the FastAPI route below, which does
the same work and documents the route in the OpenAPI schema.

Receiving is the same either way: the body is read by the one reader of the size limit
(app/request_body.py), the signature is checked against a cached per-connection verifier
(app/services/webhook_verifiers.py) and the delivery is stored by the inbox store, which writes
deliveries that arrive together in one statement (group commit, with the verifier's version
checked; app/services/inbox_store.py): no ORM session, no connection-row update, no connector built
per delivery. Processing is the sync engine's (sync/deliveries.py).
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import utcnow
from app.errors import (
    NotFound,
    ServiceError,
    Unauthorized,
    database_unavailable_problem,
    problem,
    problem_responses,
    service_error_problem,
)
from app.observability.metrics import record_webhook_delivery
from app.observability.middleware import RequestObservabilityMiddleware
from app.request_body import BodyTooLarge, read_body
from app.services.inbox_store import InboxStore, received_delivery
from app.services.webhook_verifiers import DeliveryVerifier, VerifierCache
from connectors.base import Invalid

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

PREFIX = "/webhooks/"
CANONICAL_UUID_LENGTH = 36
# A connection edited this many times while one delivery was being stored: ask for a retry.
MAX_STORE_ATTEMPTS = 3


class ConnectionChanging(ServiceError):
    status_code = 503
    title = "Service unavailable"


class UnusableDelivery(ServiceError):
    """A signed body the connector cannot even name (a Trello body without an action id): 400,
    nothing stored."""


def _verifiers(state: State) -> VerifierCache:
    cache: VerifierCache | None = getattr(state, "webhook_verifiers", None)
    if cache is None:
        cache = state.webhook_verifiers = VerifierCache(state.settings, state.engine)
    return cache


def _inbox(state: State) -> InboxStore:
    """The app's inbox store for the running event loop (a TestClient may run several)."""
    loop = asyncio.get_running_loop()
    stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, InboxStore]
    stores = getattr(state, "webhook_inboxes", None) or weakref.WeakKeyDictionary()
    state.webhook_inboxes = stores
    found = stores.get(loop)
    if found is None:
        found = stores[loop] = InboxStore(state.engine)
    return found


def _no_connection(connection_id: uuid.UUID) -> NotFound:
    return NotFound(f"No connection with id {connection_id}.")


async def accept_delivery(
    state: State, connection_id: uuid.UUID, headers: dict[str, str], body: bytes
) -> None:
    """Verify one delivery and store it once (returns when committed); raises NotFound or
    Unauthorized, and nothing is stored then."""
    now = utcnow()
    cache = _verifiers(state)
    # A cached verifier is checked on the event loop (an HMAC, microseconds); loading one reads
    # the database, so that happens in a thread.
    cached = cache.cached(connection_id)
    verdict: DeliveryVerifier | bool | None
    if cached is not None and cached.verify(headers, body, now):
        verdict = cached
    else:
        verdict = await run_in_threadpool(cache.verify, connection_id, headers, body, now)
    for _attempt in range(MAX_STORE_ATTEMPTS):
        if verdict is None:
            record_webhook_delivery(connection_id, "rejected")
            raise _no_connection(connection_id)
        if not isinstance(verdict, DeliveryVerifier):
            record_webhook_delivery(connection_id, "rejected")
            raise Unauthorized("The webhook signature is missing or does not match.")
        try:
            delivery_id = verdict.delivery_id(headers, body)
        except Invalid as exc:
            record_webhook_delivery(connection_id, "rejected")
            raise UnusableDelivery(f"The delivery cannot be used: {exc}") from None
        delivery = received_delivery(verdict, delivery_id, headers, body, now)
        outcome = await _inbox(state).store(delivery)
        if outcome != "stale":
            record_webhook_delivery(connection_id, "accepted" if outcome == "new" else "duplicate")
            worker = getattr(state, "sync_worker", None)
            if outcome == "new" and worker is not None:
                worker.wake()
            return
        # The connection changed since the verifier was loaded (perhaps a revoked secret, in
        # another process): check the signature again against what is stored now.
        verdict = await run_in_threadpool(cache.reverify, connection_id, headers, body, now)
    raise ConnectionChanging("The connection is being changed; retry the delivery.")


@router.head(
    "/{connection_id}",
    response_class=Response,  # no body, so no content type: a 200 with nothing in it
    responses={200: {"description": "The connection exists"}, **problem_responses(404, 422)},
)
def webhook_handshake(connection_id: uuid.UUID, request: Request) -> Response:
    """Trello checks a callback URL with HEAD before it creates the webhook."""
    cache = _verifiers(request.app.state)
    if cache.cached(connection_id) is None and cache.load(connection_id, utcnow()) is None:
        raise _no_connection(connection_id)
    return Response(status_code=200)


@router.post(
    "/{connection_id}", status_code=202, responses=problem_responses(400, 401, 404, 413, 422, 503)
)
async def receive_webhook(connection_id: uuid.UUID, request: Request) -> Response:
    """Verify, store once by delivery id, answer 202; the engine processes it."""
    body = await request.body()  # read within the limit by BodySizeLimit (app/request_body.py)
    await accept_delivery(request.app.state, connection_id, dict(request.headers), body)
    return Response(status_code=202)


@dataclass(frozen=True)
class _RouteTemplate:
    """What the observability middleware reads of a matched route: its path template."""

    path: str


WEBHOOK_ROUTE = _RouteTemplate(PREFIX + "{connection_id}")


class WebhookReceiver:
    """ASGI middleware, outermost of the app's own: the lean route (see the module docstring)."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state
        self.max_body_bytes: int = state.settings.max_body_bytes
        self._observed = RequestObservabilityMiddleware(self._receive)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            connection_id = self._lean_target(scope)
            if connection_id is not None:
                scope["path_params"] = {"connection_id": connection_id}
                scope["route"] = WEBHOOK_ROUTE
                await self._observed(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _lean_target(self, scope: Scope) -> uuid.UUID | None:
        """The connection id when the lean route can answer this request by itself."""
        path: str = scope["path"]
        if len(path) != len(PREFIX) + CANONICAL_UUID_LENGTH or not path.startswith(PREFIX):
            return None
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_body_bytes:
                    return None  # the full stack answers 400 / 413
                break
        else:
            return None  # a streamed body: BodySizeLimit cuts it off in the full stack
        try:
            return uuid.UUID(path[len(PREFIX) :])
        except ValueError:
            return None  # the full stack answers 422

    async def _receive(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body, went_away = await read_body(receive, self.max_body_bytes)
        except BodyTooLarge as exc:  # more than it declared: refuse, do not read on
            too_large = problem(413, "Payload too large", str(exc), headers={"Connection": "close"})
            await too_large(scope, receive, send)
            return
        if went_away is not None:
            return  # the client went away before sending its body: nothing to answer
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        connection_id: uuid.UUID = scope["path_params"]["connection_id"]
        answer: Any
        try:
            await accept_delivery(self.state, connection_id, headers, body)
        except ServiceError as exc:
            answer = service_error_problem(exc)
        except OperationalError as exc:
            answer = database_unavailable_problem(scope["path"], exc)
        else:
            accepted = [(b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 202, "headers": accepted})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await answer(scope, receive, send)
