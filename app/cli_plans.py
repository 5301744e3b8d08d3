"""``planbridge plan apply`` and ``planbridge plan export``: plans as files, from the shell."""

from __future__ import annotations

import getpass
import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, select

from app.cli_settings import command_engine, settings_or_exit
from app.db import make_engine
from app.errors import NotFound
from app.models import Workspace
from app.services.plan_documents.export import export_plan
from app.services.plan_documents.importer import DocumentFormat, import_plan
from app.services.plan_documents.places import DocumentInvalid
from app.services.plan_documents.report_text import report_lines
from app.services.plan_documents.writers import write_document
from app.services.tokens import get_or_create_workspace

plan_cli = typer.Typer(help="Plans as files: apply a plan document, export a plan.")

_BY_SUFFIX = {
    ".yaml": DocumentFormat.yaml,
    ".yml": DocumentFormat.yaml,
    ".json": DocumentFormat.json,
    ".md": DocumentFormat.md,
    ".markdown": DocumentFormat.md,
    ".csv": DocumentFormat.csv,
}


@plan_cli.command("apply")
def apply_command(
    file: Annotated[str, typer.Argument(help="The plan document ('-' reads standard input).")],
    workspace: Annotated[str, typer.Option(help="Workspace name; created if it does not exist.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the difference, change nothing.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete the plan's goals and items the file leaves out.")
    ] = False,
    format: Annotated[
        DocumentFormat | None,
        typer.Option(help="yaml, json, md or csv (default: by the file's extension, else yaml)."),
    ] = None,
    plan: Annotated[
        str | None, typer.Option(help="Apply to this plan id (else matched by key or name).")
    ] = None,
) -> None:
    """Apply a plan document in one transaction (or show what it would change)."""
    settings = settings_or_exit()
    content = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    fmt = format or _BY_SUFFIX.get(Path(file).suffix.lower(), DocumentFormat.yaml)
    try:
        plan_id = uuid.UUID(plan) if plan else None
    except ValueError as exc:
        typer.echo(f"planbridge: --plan is not a plan id: {plan}", err=True)
        raise typer.Exit(2) from exc
    engine = command_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        ws = get_or_create_workspace(session, workspace)
        try:
            report = import_plan(
                session,
                ws.id,
                content,
                fmt,
                dry_run=dry_run,
                prune=prune,
                actor=f"import by cli:{getpass.getuser()}",
                settings=settings,
                plan_id=plan_id,
            )
        except DocumentInvalid as exc:
            session.rollback()
            for problem in exc.problems:
                typer.echo(f"error: {problem.where}: {problem.message}", err=True)
            typer.echo("The document could not be read: nothing was changed.", err=True)
            raise typer.Exit(1) from exc
        if report.applied:
            session.commit()
        else:
            session.rollback()
    for line in report_lines(report):
        typer.echo(line, err=bool(report.errors) and line.startswith("error"))
    if report.errors:
        raise typer.Exit(1)


@plan_cli.command("export")
def export_command(
    plan_id: Annotated[str, typer.Argument(help="The plan's id.")],
    workspace: Annotated[str, typer.Option(help="Workspace name.")],
    format: Annotated[DocumentFormat, typer.Option(help="yaml, json, md or csv.")] = (
        DocumentFormat.yaml
    ),
) -> None:
    """Print a plan as a plan document (applying it back reports no change)."""
    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        ws = session.exec(select(Workspace).where(Workspace.name == workspace)).first()
        if ws is None:
            typer.echo(f"planbridge: no workspace named {workspace!r}", err=True)
            raise typer.Exit(2)
        try:
            document = export_plan(session, ws.id, uuid.UUID(plan_id))
        except (ValueError, NotFound) as exc:
            typer.echo(f"planbridge: no plan {plan_id} in workspace {workspace!r}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(write_document(document, format), nl=False)
