"""What every command starts with: the settings, refused in one line that names the variable to
change, and an engine whose schema is current on embedded SQLite (PostgreSQL deployments run
``planbridge migrate`` themselves)."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from app.db import make_engine
from app.migrations.runner import upgrade
from app.settings import Settings, get_settings


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:  # pydantic's ValidationError and UnsafeSettings are both ValueErrors
        typer.echo(f"planbridge: refusing to start: {one_line(exc)}", err=True)
        raise typer.Exit(2) from exc


def one_line(exc: Exception) -> str:
    """The first problem with the settings, as one line naming the variable to change."""
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in error["loc"])
        return f"PLANBRIDGE_{field.upper()}: {message}" if field else message
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def command_engine(settings: Settings) -> Engine:
    """The engine a command works on; embedded SQLite is brought to the current schema first."""
    engine = make_engine(settings.database_url)
    if settings.is_sqlite:
        upgrade(engine)
    return engine
