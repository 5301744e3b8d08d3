"""Request middleware: request id in and out, one access line per request, the latency histogram.

A plain ASGI middleware rather than ``@app.middleware("http")``: it adds a few microseconds instead
of a task and a stream per request, which matters on the webhook path (thousands a second).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logging import redact, request_log_context
from app.observability.metrics import observe_http_request

log = logging.getLogger("planbridge.request")

REQUEST_ID_HEADER = "x-request-id"
# A caller's id is echoed back only if it is short and plain: it ends up in logs and headers.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapes run every few seconds; their lines would drown the rest at INFO.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _ACCEPTABLE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/goals/{goal_id}``), never the raw path.

    Raw paths can carry secrets (a calendar feed token) and unbounded ids; templates are bounded.
    """
    # Recent FastAPI keeps included routers lazy: the route object holds the path inside its router
    # and the full template (with the /api/v1 prefix) is on the effective route context.
    fastapi_scope: Any = scope.get("fastapi")
    effective: Any = (
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    )
    template = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else "unmatched"


class RequestObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        status = 500
        started = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        with request_log_context(request_id):
            try:
                await self.app(scope, receive, send_with_request_id)
            finally:
                seconds = time.perf_counter() - started
                route = _route_template(scope)
                method = scope.get("method", "")
                observe_http_request(method, route, status, seconds)
                if route not in QUIET_ROUTES or status >= 500:
                    level = logging.ERROR if status >= 500 else logging.INFO
                    log.log(
                        level,
                        "request",
                        extra={
                            "method": method,
                            "route": route
                            if route != "unmatched"
                            else redact(scope.get("path", "")),
                            "status": status,
                            "duration_ms": round(seconds * 1000, 2),
                        },
                    )


def install_observability(app: Any) -> None:
    """Add the request middleware (outermost of the user middleware, so 413s get an id too)."""
    app.add_middleware(RequestObservabilityMiddleware)
