"""Liveness and readiness probes (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz", responses={503: {"description": "Database unreachable or migrations behind"}}
)
def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the newest migration."""
    from app.migrations.runner import current_matches_head

    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            at_head = current_matches_head(connection)
    except Exception as exc:  # any driver error means "not ready"; the reason is reported
        return JSONResponse(
            {"status": "unavailable", "detail": type(exc).__name__}, status_code=503
        )
    if not at_head:
        return JSONResponse(
            {"status": "unavailable", "detail": "migrations not at head"}, status_code=503
        )
    return JSONResponse({"status": "ok"})
