"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.dashboard import install_dashboard
from app.db import make_engine
from app.errors import install_error_handlers
from app.garbage_collector import tuned_garbage_collector
from app.observability.middleware import install_observability
from app.request_body import BodySizeLimit
from app.routes import api_router, metrics, probes, webhooks
from app.routes.docs import install_api_docs
from app.routes.openapi_links import install_openapi_links
from app.session_hooks import install_session_hooks
from app.settings import Settings, get_settings
from sync.worker import start_embedded_worker

DESCRIPTION = """\
Strategic plans turned into owned action items in Jira, GitHub and Trello.

Every `/api/v1` endpoint needs `Authorization: Bearer <token>` (create one with
`planbridge token create --workspace NAME`). Read tokens may only GET; write tokens create, change
and delete; admin tokens also manage tokens. Lists page with `limit` and `offset` in the order
(created_at, id) and report the `total`. Errors are `application/problem+json`; a 422 names the
offending field in `errors[].loc`.
"""


class WithoutTrailingSlash:
    """``/api/v1/items/`` answers as ``/api/v1/items`` (routing's default was an empty 307
    redirect to it, which clients and people read as an error)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
            if scope.get("raw_path"):
                scope["raw_path"] = scope["raw_path"].rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    install_session_hooks()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The embedded sync worker, 2 threads (planbridge serve; off with --no-worker and in tests).
        worker = start_embedded_worker(settings, engine) if settings.embedded_worker else None
        app.state.sync_worker = worker
        with tuned_garbage_collector():  # why: app/garbage_collector.py
            yield
        if worker is not None:
            worker.stop()

    app = FastAPI(
        title="planbridge",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the package by install_api_docs, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_observability(app)  # outermost: even a 413 gets a request id and a log line
    # Ahead of all of it: the lean route of webhook deliveries (it observes them itself).
    app.add_middleware(webhooks.WebhookReceiver, state=app.state)
    app.add_middleware(WithoutTrailingSlash)  # outermost: every layer sees the one path
    app.router.redirect_slashes = False

    app.include_router(probes.router)
    app.include_router(metrics.router)
    # Webhooks first: routes are matched in order, and deliveries are the busiest path.
    app.include_router(webhooks.router)
    app.include_router(api_router)
    install_api_docs(app)
    install_openapi_links(app)
    # The dashboard lives under / and is mounted last, after the API, webhooks, docs and probes.
    install_dashboard(app)
    return app
