"""The ``planbridge`` command line: serve, migrate, token create (and the engine's commands)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import typer
from sqlmodel import Session

from app.cli_plans import plan_cli
from app.cli_reminders import reminders_cli
from app.cli_settings import command_engine, settings_or_exit
from app.db import make_engine
from app.demo.command import demo
from app.migrations.runner import upgrade
from app.models import Scope
from app.services.connections import memory_tracker_directory
from app.services.tokens import get_or_create_workspace, issue_token
from app.session_hooks import install_session_hooks
from app.settings import get_settings
from connectors.base import RemoteStatus
from connectors.memory import store_file_name
from connectors.memory_store import MemoryTracker

cli = typer.Typer(
    help="planbridge: strategic plans turned into tracked, owned work.", no_args_is_help=True
)
token_cli = typer.Typer(help="API tokens.", no_args_is_help=True)
cli.add_typer(token_cli, name="token")
cli.add_typer(plan_cli, name="plan")
cli.add_typer(reminders_cli, name="reminders")
cli.command()(demo)
memory_cli = typer.Typer(
    help="The memory tracker of demos: see its items, act as a person in it.", no_args_is_help=True
)
cli.add_typer(memory_cli, name="memory-tracker")


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the newest version."""
    settings = settings_or_exit()
    upgrade(make_engine(settings.database_url))
    typer.echo("database is at the newest schema")


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default PLANBRIDGE_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PLANBRIDGE_PORT).")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run the embedded sync worker.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="API processes sharing the port (PostgreSQL only); each runs its embedded "
            "worker unless --no-worker, and they share the work through leases.",
        ),
    ] = 1,
) -> None:
    """Run the web service (and, by default, an embedded sync worker of 2 threads)."""
    import os

    import uvicorn

    from app.main import create_app
    from app.observability.logging import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    if no_worker:
        settings = settings.model_copy(update={"embedded_worker": False})
    engine = make_engine(settings.database_url)
    if settings.is_sqlite:
        if workers > 1:
            typer.echo(
                "planbridge: --workers needs PostgreSQL (one SQLite file, one process)", err=True
            )
            raise typer.Exit(2)
        # The embedded database belongs to this process: bring it to the newest schema itself.
        upgrade(engine)
    common: dict[str, Any] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": settings.log_level.lower(),
        # Our JSON logging stays in place; the request middleware writes the access lines.
        "log_config": None,
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings, engine), **common)
        return
    # Each process builds its own app from the environment (uvicorn spawns them by import string).
    engine.dispose()
    if no_worker:
        os.environ["PLANBRIDGE_EMBEDDED_WORKER"] = "false"
    uvicorn.run("app.cli:create_served_app", factory=True, workers=workers, **common)


def create_served_app() -> Any:
    """The app of one ``serve --workers N`` process, with the same logging as a single one."""
    from app.main import create_app
    from app.observability.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


@token_cli.command("create")
def token_create(
    workspace: Annotated[str, typer.Option(help="Workspace name; created if it does not exist.")],
    scope: Annotated[Scope, typer.Option(help="admin, write or read.")] = Scope.write,
    name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "",
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    settings = settings_or_exit()
    engine = command_engine(settings)
    with Session(engine) as session:
        ws = get_or_create_workspace(session, workspace)
        issued = issue_token(session, ws.id, scope, name)
        session.commit()
    typer.echo(issued.token)


@cli.command()
def worker(
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker threads in this process. With 1, a tracker that answers slowly can hold "
            "the single thread (up to its timeout per call) and every connection waits.",
        ),
    ] = 4,
    connection_threads: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="At most this many of the threads in one connection's tracker calls at once, so "
            "that a slow tracker leaves the other connections a thread (keep it below "
            "--concurrency).",
        ),
    ] = 1,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this process's Prometheus counters on this port.")
    ] = None,
) -> None:
    """Run sync workers until SIGTERM/SIGINT (each thread finishes its current step first)."""
    from app.garbage_collector import tuned_garbage_collector
    from app.observability.logging import configure_logging
    from app.observability.metrics import serve_process_metrics
    from sync.worker import Worker

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    if metrics_port is not None:
        serve_process_metrics(metrics_port)
    # The schema belongs to `planbridge migrate` / `serve`; a worker only uses it.
    engine = make_engine(settings.database_url, pool_size=max(5, concurrency + 2))
    running = Worker(engine, settings, threads=concurrency, connection_threads=connection_threads)
    running.install_signal_handlers()
    with tuned_garbage_collector():  # why: app/garbage_collector.py
        running.start()
        running.join()
    typer.echo(f"{running.name} stopped")


@cli.command()
def sync(
    connection: Annotated[str | None, typer.Option(help="Only this connection id.")] = None,
) -> None:
    """One full sync pass in the foreground: pull every connection, push everything pending."""
    import uuid as uuid_module

    from rich.progress import Progress, SpinnerColumn, TextColumn

    from sync.context import EngineContext
    from sync.engine import SyncEngine
    from sync.push import PushOutcome

    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    try:
        connection_id = uuid_module.UUID(connection) if connection else None
    except ValueError as exc:
        typer.echo(f"planbridge: --connection is not a connection id: {connection}", err=True)
        raise typer.Exit(2) from exc
    context = EngineContext(engine, settings, worker_id="cli-sync")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as progress:
        task = progress.add_task("syncing", total=None)
        seen: dict[str, int] = {}

        def report(outcomes: Counter[PushOutcome]) -> None:
            for key, value in outcomes.items():
                seen[key] = seen.get(key, 0) + value
            progress.update(
                task, description="pushed: " + ", ".join(f"{k} {v}" for k, v in seen.items())
            )

        totals = SyncEngine(context).run_pass(connection_id, progress=report)
    context.close()
    summary = (
        ", ".join(f"{key} {value}" for key, value in sorted(totals.items())) or "nothing to do"
    )
    typer.echo(f"sync pass done: {summary}")
    if totals.get("failed") or totals.get("dead"):
        raise typer.Exit(1)


def _memory_tracker(name: str) -> MemoryTracker:
    """The file store of ``memory://<name>`` that ``planbridge serve`` uses with these settings."""
    directory = memory_tracker_directory(settings_or_exit())
    if directory is None:
        typer.echo(
            "planbridge: memory trackers live in the service's process memory with these "
            "settings; set PLANBRIDGE_MEMORY_TRACKER_DIR to reach them from the command line",
            err=True,
        )
        raise typer.Exit(2)
    path = directory / store_file_name(f"memory://{name}")
    if not path.exists():
        typer.echo(f"planbridge: no memory tracker memory://{name} in {directory}", err=True)
        raise typer.Exit(2)
    return MemoryTracker(name, str(path))


@memory_cli.command("show")
def memory_show(
    name: Annotated[str, typer.Argument(help="The tracker's name: memory://<name>.")],
) -> None:
    """List the tracker's objects: key, status, kind, title."""
    for stored in _memory_tracker(name).all_items():
        typer.echo(f"MEM-{stored.id}\t{stored.status}\t{stored.kind}\t{stored.title}")


@memory_cli.command("set-status")
def memory_set_status(
    name: Annotated[str, typer.Argument(help="The tracker's name: memory://<name>.")],
    key: Annotated[str, typer.Argument(help="The object's key, e.g. MEM-2.")],
    status: Annotated[RemoteStatus, typer.Argument(help="The new status.")],
) -> None:
    """Change an object's status as a person in the tracker would; planbridge reads it back at
    its next pull of the connection (``planbridge sync`` pulls at once)."""
    tracker = _memory_tracker(name)
    number = key.upper().removeprefix("MEM-")
    stored = tracker.get(int(number)) if number.isdigit() else None
    if stored is None or stored.deleted:
        typer.echo(f"planbridge: memory://{name} has no object {key}", err=True)
        raise typer.Exit(2)
    tracker.person_sets_status(str(stored.id), status.value)
    typer.echo(f"MEM-{stored.id} is now {status.value} in memory://{name}")


def main() -> None:
    install_session_hooks()  # every command that writes keeps the rules of app/session_hooks.py
    cli()
