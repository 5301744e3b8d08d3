"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import Engine

from app import __version__
from app.db import make_engine
from app.errors import install_error_handlers, problem
from app.routes import api_router, health
from app.settings import Settings, get_settings


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title="planbridge",
        version=__version__,
        description="Strategic plans turned into owned action items in Jira, GitHub and Trello.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)

    @app.middleware("http")
    async def limit_body_size(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            return problem(
                413, "Payload too large", f"The body exceeds the limit of {settings.max_body_bytes} bytes."
            )
        return await call_next(request)

    app.include_router(health.router)
    app.include_router(api_router)
    return app
