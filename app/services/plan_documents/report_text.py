"""An apply's report as the lines the command line prints."""

from __future__ import annotations

from app.services.plan_documents.places import Place
from app.services.plan_documents.report import Change, PlanImportReport

_VERBS = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "not_in_document": "not in the file (kept; --prune deletes)",
}


def _where(change: Change) -> str:
    place = Place(line=change.line, row=change.row).describe()
    return f" ({place})" if place else ""


def report_lines(report: PlanImportReport, *, show_unchanged: bool = False) -> list[str]:
    lines = []
    for change in report.changes:
        if change.action == "unchanged" and not show_unchanged:
            continue
        verb = _VERBS.get(change.action, change.action)
        key = f" [{change.key}]" if change.key else ""
        lines.append(f"{verb} {change.kind} {change.title!r}{key}{_where(change)}")
        if change.action == "update":
            lines += [f"    {f.field}: {f.old!r} -> {f.new!r}" for f in change.fields]
    lines += [f"warning: {p.where}: {p.message}" for p in report.warnings]
    lines += [f"error: {p.where}: {p.message}" for p in report.errors]
    summary = report.summary
    lines.append(
        f"{report.message} ({summary.create} to create, {summary.update} to update, "
        f"{summary.unchanged} unchanged, {summary.delete} to delete, "
        f"{summary.not_in_document} not in the file)"
    )
    return lines
