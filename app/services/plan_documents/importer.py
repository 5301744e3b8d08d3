"""Apply a plan document to a workspace, or answer what applying it would do (dry run).

The caller owns the transaction: it commits when the report says ``applied`` and rolls back
otherwise, so a dry run, and a document with any error, change nothing. The dry run takes the
same path as the apply up to the commit, which is how its warnings are exactly the apply's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from app.services.plan_documents.apply import apply_changes
from app.services.plan_documents.diff import ChangeSet, plan_changes
from app.services.plan_documents.json_reader import read_json
from app.services.plan_documents.places import Places
from app.services.plan_documents.report import ChangeSummary, PlanImportReport
from app.services.plan_documents.validation import parse_plan_document
from app.services.plan_documents.yaml_reader import read_yaml
from app.settings import Settings


class DocumentFormat(StrEnum):
    yaml = "yaml"
    json = "json"
    md = "md"
    csv = "csv"


def _reader(fmt: DocumentFormat) -> Callable[[bytes | str], tuple[Any, Places]]:
    from app.services.plan_documents.csv_reader import read_csv
    from app.services.plan_documents.markdown_reader import read_markdown

    readers: dict[DocumentFormat, Callable[[bytes | str], tuple[Any, Places]]] = {
        DocumentFormat.yaml: read_yaml,
        DocumentFormat.json: read_json,
        DocumentFormat.md: read_markdown,
        DocumentFormat.csv: read_csv,
    }
    return readers[fmt]


def _summary(change_set: ChangeSet) -> ChangeSummary:
    summary = ChangeSummary()
    for change in change_set.all_changes():
        setattr(summary, change.action, getattr(summary, change.action) + 1)
    return summary


def import_plan(
    session: Session,
    workspace_id: uuid.UUID,
    content: bytes | str,
    fmt: DocumentFormat,
    *,
    dry_run: bool,
    prune: bool,
    actor: str,
    settings: Settings,
    plan_id: uuid.UUID | None = None,
) -> PlanImportReport:
    """The report of the apply; raises DocumentInvalid when the file cannot be read at all."""
    data, places = _reader(fmt)(content)
    document = parse_plan_document(data, places)
    change_set = plan_changes(session, workspace_id, document, places, prune=prune, plan_id=plan_id)
    summary = _summary(change_set)
    changed = bool(summary.create or summary.update or summary.delete)
    errors, warnings = list(change_set.errors), []
    plan = change_set.plan
    applied_plan_id = plan.row.id if plan is not None and plan.row is not None else None
    if changed:
        outcome = apply_changes(
            session, workspace_id, change_set, places, actor=actor, settings=settings
        )
        errors.extend(outcome.errors)
        warnings = outcome.warnings
        if not dry_run:
            applied_plan_id = outcome.plan_id
    applied = changed and not dry_run and not errors
    if errors:
        message = f"{len(errors)} error(s): nothing was changed."
    elif not changed:
        message = "Nothing to change: the workspace already matches the document."
    elif dry_run:
        message = "Dry run: these changes would be made; nothing was changed."
    else:
        message = "Applied."
    return PlanImportReport(
        dry_run=dry_run,
        applied=applied,
        changed=changed,
        message=message,
        plan_id=applied_plan_id,
        summary=summary,
        changes=change_set.all_changes(),
        warnings=warnings,
        errors=errors,
    )
