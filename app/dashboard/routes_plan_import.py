"""The plan import page (paste or upload a plan document, see the dry run, apply it with one
button) and the export of a plan as a file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from app.dashboard import auth
from app.dashboard.errors import parse_id, unknown_id_as_page_not_found
from app.dashboard.rendering import render
from app.deps import SessionDep, SettingsDep
from app.services.plan_documents.export import export_plan
from app.services.plan_documents.importer import DocumentFormat, import_plan
from app.services.plan_documents.limits import MAX_DOCUMENT_BYTES
from app.services.plan_documents.places import DocumentInvalid
from app.services.plan_documents.report import PlanImportReport
from app.services.plan_documents.writers import MEDIA_TYPES, write_document

router = APIRouter(include_in_schema=False)

_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".md": "md", ".csv": "csv"}


def _page(
    request: Request,
    viewer: auth.Viewer,
    *,
    document: str = "",
    fmt: DocumentFormat = DocumentFormat.yaml,
    prune: bool = False,
    report: PlanImportReport | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "viewer": viewer,
        "document": document,
        "format": fmt.value,
        "formats": [f.value for f in DocumentFormat],
        "prune": prune,
        "report": report,
        "problems": problems or [],
    }
    return render(request, "plan_import.html", context, status_code=status_code)


@router.get("/plan-import", response_class=HTMLResponse)
def plan_import_page(request: Request, viewer: auth.ViewerDep) -> Response:
    return _page(request, viewer)


@router.post("/plan-import", response_class=HTMLResponse)
async def plan_import_submit(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    viewer: auth.ViewerDep,
    csrf_token: auth.CsrfField = "",
    document: Annotated[str, Form(max_length=MAX_DOCUMENT_BYTES)] = "",
    format: Annotated[DocumentFormat, Form()] = DocumentFormat.yaml,
    prune: Annotated[bool, Form()] = False,
    action: Annotated[str, Form(max_length=20)] = "preview",
    upload: UploadFile | None = None,
) -> Response:
    """``preview`` answers the dry run's difference; ``apply`` applies the same text."""
    auth.require_form_write(viewer, csrf_token)
    if upload is not None and upload.filename:
        content = await upload.read(MAX_DOCUMENT_BYTES + 1)
        document = content.decode("utf-8", errors="replace")
        suffix = "." + upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        format = DocumentFormat(_SUFFIXES.get(suffix, format.value))
    try:
        report = import_plan(
            db,
            viewer.workspace_id,
            document,
            format,
            dry_run=action != "apply",
            prune=prune,
            actor=f"import by {viewer.actor}",
            settings=settings,
        )
    except DocumentInvalid as exc:
        db.rollback()
        problems = [f"{p.where}: {p.message}" for p in exc.problems]
        return _page(
            request,
            viewer,
            document=document,
            fmt=format,
            prune=prune,
            problems=problems,
            status_code=422,
        )
    if not report.applied:
        db.rollback()  # a dry run, or refused: nothing of it is kept
    return _page(
        request,
        viewer,
        document=document,
        fmt=format,
        prune=prune,
        report=report,
        status_code=422 if report.errors else 200,
    )


@router.get("/plans/{plan_id}/export")
def plan_export(
    plan_id: str,
    db: SessionDep,
    viewer: auth.ViewerDep,
    format: Annotated[DocumentFormat, Query()] = DocumentFormat.yaml,
) -> Response:
    with unknown_id_as_page_not_found():
        document = export_plan(db, viewer.workspace_id, parse_id(plan_id))
    suffix = {"yaml": "yaml", "json": "json", "md": "md", "csv": "csv"}[format.value]
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in document.plan.name)
    return Response(
        write_document(document, format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )
