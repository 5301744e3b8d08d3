"""``planbridge reminders send`` and ``planbridge reminders preview``: the weekly check-in
reminders from the shell (for cron users, tests and a first try; the worker sends them itself)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session, col, select

from app.cli_settings import command_engine, settings_or_exit
from app.db import utcnow
from app.models import Workspace
from app.services.messages.outbox import send_due_messages
from app.services.reminders import (
    people_with_email,
    preview_reminder,
    remind_due,
    withdraw_stale_messages,
)

reminders_cli = typer.Typer(help="Weekly check-in reminders: send what is due, preview one.")
# The outbox is drained in calls of this many; a failed message waits for its back-off.
SEND_BATCH = 50


@reminders_cli.command("send")
def send_command(
    workspace: Annotated[
        str | None, typer.Option(help="Only this workspace (default: every workspace).")
    ] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="This week's reminder to everyone who owns open work and has not checked in, "
            "whatever the hour (still once a week).",
        ),
    ] = False,
) -> None:
    """Send the reminders due now, then the messages waiting in the outbox."""
    settings = settings_or_exit()
    engine = command_engine(settings)
    now = utcnow()
    if workspace is not None:
        with Session(engine) as session:
            found = session.exec(select(Workspace).where(col(Workspace.name) == workspace)).first()
        if found is None:
            typer.echo(f"planbridge: no workspace named {workspace!r}", err=True)
            raise typer.Exit(2)
    reminders = remind_due(
        engine,
        settings,
        now,
        workspace_names=None if workspace is None else [workspace],
        everyone=all_,
    )
    with Session(engine) as session:
        withdraw_stale_messages(session, now)
        session.commit()
    attempted = 0
    while (batch := send_due_messages(engine, now, settings, limit=SEND_BATCH)) > 0:
        attempted += batch
    unreachable = sum(1 for reminder in reminders if reminder.messages == 0)
    typer.echo(
        f"reminded {len(reminders)} people ({unreachable} unreachable: no e-mail or chat "
        f"channel); {attempted} message(s) attempted (see GET /api/v1/deliveries)"
    )


@reminders_cli.command("preview")
def preview_command(
    person: Annotated[str, typer.Option(help="The person's e-mail address.")],
    workspace: Annotated[
        str | None, typer.Option(help="The person's workspace, if the address is in several.")
    ] = None,
) -> None:
    """Print the reminder the person would get this week (no link is issued, nothing is sent)."""
    settings = settings_or_exit()
    engine = command_engine(settings)
    now = utcnow()
    with Session(engine) as session:
        found = people_with_email(session, person, workspace)
        if not found:
            typer.echo(f"planbridge: nobody has the e-mail address {person!r}", err=True)
            raise typer.Exit(2)
        if len(found) > 1:
            typer.echo(
                f"planbridge: {person!r} is in {len(found)} workspaces; name one with --workspace",
                err=True,
            )
            raise typer.Exit(2)
        preview = preview_reminder(session, found[0], settings, now)
    if preview.not_sent_because is not None:
        typer.echo(f"# Not sent this week: {preview.not_sent_because}.")
    if preview.due_at is not None:
        typer.echo(f"# Due: {preview.due_at:%A %Y-%m-%d %H:%M} UTC")
    typer.echo(f"To: {person}\nSubject: {preview.message.subject}\n")
    typer.echo(preview.message.text, nl=False)
