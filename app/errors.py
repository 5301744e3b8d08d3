"""The service's error family, mapped once to RFC 9457 ``application/problem+json`` answers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ServiceError(Exception):
    """Base of the errors a request can end in; each maps to one HTTP status."""

    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(ServiceError):
    status_code = 404
    title = "Not found"


class Conflict(ServiceError):
    status_code = 409
    title = "Conflict"


class Unauthorized(ServiceError):
    status_code = 401
    title = "Unauthorized"


class Forbidden(ServiceError):
    status_code = 403
    title = "Forbidden"


class PayloadTooLarge(ServiceError):
    status_code = 413
    title = "Payload too large"


class InvalidField(ServiceError):
    """A value that passed type validation but breaks a rule; names the field like pydantic does."""

    status_code = 422
    title = "Unprocessable content"

    def __init__(self, field: str | list[str | int], message: str) -> None:
        loc = [field] if isinstance(field, str) else list(field)
        super().__init__(message, errors=[{"loc": ["body", *loc], "msg": message, "type": "value_error"}])
        self.field = loc


def problem(
    status: int, title: str, detail: str, *, errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for error in errors:
        entry = {"loc": list(error.get("loc", [])), "msg": str(error.get("msg", "")), "type": error.get("type", "")}
        cleaned.append(entry)
    return cleaned


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return problem(exc.status_code, exc.title, exc.detail, errors=exc.errors, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_validation_errors(exc.errors())
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
        detail = f"Invalid request: {fields}: {errors[0]['msg']}" if errors else "Invalid request"
        return problem(422, "Unprocessable content", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        return problem(exc.status_code, detail, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(500, "Internal server error", "An unexpected error occurred; it has been logged.")
