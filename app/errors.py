"""The service's error family, mapped once to RFC 9457 ``application/problem+json`` answers."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# What FastAPI says when it cannot decode a request body at all.
FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"
# The first element of a 422's ``loc``: which part of the request the field is in.
REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


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


class InvalidField(ServiceError):
    """A value that passed type validation but breaks a rule; names the field like pydantic does."""

    status_code = 422
    title = "Unprocessable content"

    def __init__(self, field: str | list[str | int], message: str) -> None:
        loc = [field] if isinstance(field, str) else list(field)
        # A body field by default; a location that names its part (query, path) is kept as is.
        where = loc if loc and loc[0] in REQUEST_PARTS else ["body", *loc]
        super().__init__(message, errors=[{"loc": where, "msg": message, "type": "value_error"}])
        self.field = loc


class ItemTooLarge(InvalidField):
    """An action item estimated above ``max_item_hours``: it should be split into smaller steps."""

    def __init__(self, estimate_hours: float, max_item_hours: float) -> None:
        limit = f"{max_item_hours:g}"
        super().__init__(
            "estimate_hours",
            f"An action item of {estimate_hours:g} hours is too large: "
            f"split it into steps of at most {limit} hours each.",
        )


# ---- The problem document, as the OpenAPI schema declares it -------------------------------------


class ProblemFieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document; ``errors`` names the offending fields of a 422."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] | None = None


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, unknown or revoked API token",
    403: "The token's scope does not allow this action",
    404: "No such object in this workspace",
    409: "The change conflicts with other objects",
    413: "The request body is over the size limit",
    422: "A field is missing, of the wrong type, or breaks a rule (its path is in errors[].loc)",
    429: "Too many failed authentication attempts from this address; retry after Retry-After",
    503: "The database is busy or unreachable; nothing was changed; retry after Retry-After",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each code answers a Problem document."""
    return {
        code: {"model": Problem, "description": _DESCRIPTIONS.get(code, "Error")} for code in codes
    }


def _document_answers_of_every_route(
    operation: dict[str, Any], problem_ref: dict[str, str]
) -> None:
    responses = operation.setdefault("responses", {})
    extra = {503: True, 429: "401" in responses, 413: "requestBody" in operation}
    for code, applies in extra.items():
        if not applies:
            continue
        response: dict[str, Any] = responses.setdefault(
            str(code),
            {
                "description": _DESCRIPTIONS[code],
                "content": {PROBLEM_JSON: {"schema": problem_ref}},
            },
        )
        if code in (429, 503):
            response.setdefault("headers", _RETRY_AFTER)


def install_problem_openapi(app: FastAPI) -> None:
    """Declare error responses as ``application/problem+json``, the type they are sent as.

    Also for routes that declare no 422 themselves: FastAPI then documents its own validation
    body (``HTTPValidationError``), but the handler below always answers a Problem. And, in this
    one place, the answers any route can give whatever it does: 503 (the database is busy or
    unreachable), 429 on routes that check a token (the failed-authentication throttle) and 413
    on routes that take a body (the body size limit).
    """
    original = app.openapi
    problem_ref = {"$ref": "#/components/schemas/Problem"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in components:
            generated = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(generated.pop("$defs", {}))
            components["Problem"] = generated
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                _document_answers_of_every_route(operation, problem_ref)
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] not in ("4", "5") or "application/json" not in content:
                        continue
                    body = content.pop("application/json")
                    if body.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                        body = {"schema": problem_ref}
                    content[PROBLEM_JSON] = body
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# ---- Handlers ----------------------------------------------------------------------------------


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: list[str | int]) -> str:
    names = [part for part in loc if isinstance(part, str) and part not in REQUEST_PARTS]
    return names[-1] if names else "the value"


def _readable_message(error: dict[str, Any], loc: list[str | int]) -> str:
    """Pydantic's message, said for a person where it is unclear: an explicit null on a field
    that cannot be null, and dates or times in another format than the one accepted."""
    kind, message = str(error.get("type", "")), str(error.get("msg", ""))
    field = _field_name(loc)
    if kind != "missing" and "input" in error and error["input"] is None:
        return f"{field} is required and cannot be null."
    if kind.startswith("date_"):
        return f"{field} must be a date as YYYY-MM-DD, e.g. 2027-01-18 ({message})."
    if kind.startswith("datetime_"):
        return (
            f"{field} must be a date and time as YYYY-MM-DDTHH:MM:SS with a UTC offset, "
            f"e.g. 2027-01-18T09:00:00Z ({message})."
        )
    return message


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", [])]
        cleaned.append(
            {
                "loc": loc,
                "msg": _readable_message(error, loc),
                "type": str(error.get("type", "")),
            }
        )
    return cleaned


def status_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _allowed_methods(request: Request) -> list[str]:
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def service_error_problem(exc: ServiceError) -> JSONResponse:
    """The answer to a ``ServiceError`` (also used by the lean webhook route, app/routes)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return problem(exc.status_code, exc.title, exc.detail, errors=exc.errors, headers=headers)


def database_unavailable_problem(path: str, exc: OperationalError) -> JSONResponse:
    """503: a lost connection, or SQLite busy past its timeout; nothing was written."""
    log.warning("database unavailable", extra={"path": path, "error": str(exc.orig)})
    return problem(
        503,
        "Service unavailable",
        "The database is busy or unreachable; nothing was changed. Retry shortly.",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    install_problem_openapi(app)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return service_error_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_validation_errors(exc.errors())
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
        detail = f"Invalid request: {fields}: {errors[0]['msg']}" if errors else "Invalid request"
        return problem(422, "Unprocessable content", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_UNREADABLE_BODY:
            # FastAPI answers 400 for a body that is not even text (bad UTF-8) but 422 for bad
            # JSON; both are one problem to a client, and 422 is the one every route declares.
            message = "The body is not valid JSON (it must be UTF-8 encoded JSON)."
            errors = [{"loc": ["body"], "msg": message, "type": "json_invalid"}]
            return problem(422, "Unprocessable content", message, errors=errors)
        title = status_title(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail else title
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route on the path; name them all.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(exc.status_code, title, detail, headers=headers or None)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # The services check references and dependents first; this is the safety net for a race
        # (e.g. a person deleted between the check and the write), never a stack trace.
        log.warning("integrity error", extra={"path": request.url.path, "error": str(exc.orig)})
        return problem(
            409, "Conflict", "The change conflicts with other objects; reload and retry."
        )

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        log.warning("data error", extra={"path": request.url.path, "error": str(exc.orig)})
        return problem(
            422, "Unprocessable content", "A value is out of the range the database stores."
        )

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # A lost connection, or SQLite busy past its timeout: nothing was written, try again.
        return database_unavailable_problem(request.url.path, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(
            500, "Internal server error", "An unexpected error occurred; it has been logged."
        )
