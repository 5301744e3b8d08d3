"""``planbridge demo``: seed the demo workspace (once), print how to sign in, and serve."""

from __future__ import annotations

from typing import Annotated

import typer

from app.db import make_engine
from app.demo.seed import seed_demo
from app.migrations.runner import upgrade
from app.settings import get_settings


def demo(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Seed and print, do not serve.")
    ] = False,
) -> None:
    """A demo workspace with a quarter under way (people, plan, tracker, history), then serve."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if settings.is_sqlite:
        upgrade(engine)
    seeded = seed_demo(engine, settings)
    engine.dispose()
    base = f"http://{host or settings.host}:{port or settings.port}"
    typer.echo(
        "demo workspace 'demo': "
        + ("a quarter eight weeks in" if seeded.seeded else "already there, kept as it is")
    )
    typer.echo(f"sign in at {base}/signin with this token: {seeded.token}")
    typer.echo(f"then open the plan: {base}/plans/{seeded.plan_id}")
    if no_serve:
        return
    from app.cli import serve

    serve(host=host, port=port, no_worker=False, workers=1)
