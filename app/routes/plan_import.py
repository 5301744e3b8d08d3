"""``/api/v1/plans/import`` and ``/api/v1/plans/{id}/export``: plans as reviewable files.

The import's body is the document itself (YAML, JSON, Markdown or CSV, told by ``format`` or by
the Content-Type). A document with any error answers 422 with every problem at its place in the
file (``errors``) and the whole difference (``report``), and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app.deps import ReadAuth, SessionDep, SettingsDep, WriteAuth
from app.errors import PROBLEM_JSON, problem, problem_responses
from app.routes.rules_beyond_schema import rules_beyond_schema
from app.services.plan_documents.document import plan_document_json_schema
from app.services.plan_documents.export import export_plan
from app.services.plan_documents.importer import DocumentFormat, import_plan
from app.services.plan_documents.places import DocumentInvalid, Problem
from app.services.plan_documents.report import PlanImportReport
from app.services.plan_documents.writers import MEDIA_TYPES, write_document

router = APIRouter(tags=["plan documents"])

_FORMATS_BY_MEDIA_TYPE = {
    "application/json": DocumentFormat.json,
    "application/yaml": DocumentFormat.yaml,
    "application/x-yaml": DocumentFormat.yaml,
    "text/yaml": DocumentFormat.yaml,
    "text/x-yaml": DocumentFormat.yaml,
    "text/markdown": DocumentFormat.md,
    "text/x-markdown": DocumentFormat.md,
    "text/csv": DocumentFormat.csv,
}
_DOCUMENT_BODY = {
    "required": True,
    "content": {
        "application/yaml": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
        "text/markdown": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}


async def _document_body(request: Request) -> bytes:
    return await request.body()  # BodySizeLimit has already refused an oversized body


def _format_of(request: Request, given: DocumentFormat | None) -> DocumentFormat:
    if given is not None:
        return given
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return _FORMATS_BY_MEDIA_TYPE.get(media_type, DocumentFormat.yaml)


def _rejected(problems: list[Problem], report: PlanImportReport | None) -> JSONResponse:
    first = problems[0]
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": "Unprocessable content",
        "status": 422,
        "detail": f"The plan document has {len(problems)} error(s); nothing was changed. "
        f"First: {first.where}: {first.message}",
        "errors": [
            {"loc": ["body", *p.loc], "msg": f"{p.where}: {p.message}", "type": p.code}
            for p in problems
        ],
        "problems": [p.model_dump(mode="json") for p in problems],
    }
    if report is not None:
        body["report"] = report.model_dump(mode="json")
    return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)


@router.post(
    "/plans/import",
    response_model=PlanImportReport,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra={
        "requestBody": _DOCUMENT_BODY,
        **rules_beyond_schema(
            ("body", "a plan document (GET /plan-documents/schema) whose names and keys resolve")
        ),
    },
)
def import_plan_document(
    request: Request,
    session: SessionDep,
    auth: WriteAuth,
    settings: SettingsDep,
    body: Annotated[bytes, Depends(_document_body)],
    dry_run: Annotated[bool, Query(description="Answer the difference, change nothing")] = False,
    prune: Annotated[
        bool, Query(description="Delete the plan's goals and items the document leaves out")
    ] = False,
    format: Annotated[
        DocumentFormat | None, Query(description="yaml, json, md or csv; else by Content-Type")
    ] = None,
    plan_id: Annotated[
        uuid.UUID | None, Query(description="Apply to this plan (else matched by key or name)")
    ] = None,
) -> Any:
    """Apply a plan document in one transaction, or with ``dry_run`` answer what would change:
    objects created, updated (field by field) and unchanged, deletions with ``prune``, and the
    planning rules' warnings. Re-applying the same document changes nothing."""
    try:
        report = import_plan(
            session,
            auth.workspace_id,
            body,
            _format_of(request, format),
            dry_run=dry_run,
            prune=prune,
            actor=f"import by {auth.actor}",
            settings=settings,
            plan_id=plan_id,
        )
    except DocumentInvalid as exc:
        session.rollback()
        return _rejected(exc.problems, None)
    if not report.applied:
        session.rollback()  # a dry run, or refused: nothing of it is kept
    if report.errors:
        return _rejected(report.errors, report)
    return report


@router.api_route(
    "/plans/import",
    methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
def import_takes_only_post() -> JSONResponse:
    """405 naming POST. Without it, ``/plans/{plan_id}`` would take a PATCH or a DELETE of
    ``/plans/import`` as one of a plan with the id "import" (and answer 422 on ``plan_id``); so
    this router is included ahead of the plans' (app/routes/__init__.py)."""
    return problem(
        405,
        "Method Not Allowed",
        "/plans/import takes POST only (a plan document as the body).",
        headers={"Allow": "POST"},
    )


@router.get(
    "/plans/{plan_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The plan document",
            "content": {media_type.split(";")[0]: {} for media_type in MEDIA_TYPES.values()},
        },
        **problem_responses(401, 404, 422),
    },
)
def export_plan_document(
    plan_id: uuid.UUID,
    session: SessionDep,
    auth: ReadAuth,
    format: Annotated[DocumentFormat, Query(description="yaml, json, md or csv")] = (
        DocumentFormat.yaml
    ),
) -> Response:
    """The plan as a document; applying it to this workspace reports no change."""
    document = export_plan(session, auth.workspace_id, plan_id)
    return Response(write_document(document, format), media_type=MEDIA_TYPES[format])


@router.get("/plan-documents/schema", responses=problem_responses(401))
def plan_document_schema(auth: ReadAuth) -> dict[str, Any]:
    """The JSON Schema of the plan document (also in docs/plan-document.schema.json)."""
    return plan_document_json_schema()
