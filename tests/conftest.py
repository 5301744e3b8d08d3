"""Shared fixtures: every storage and API test runs on SQLite and on the real PostgreSQL.

PostgreSQL is required, never skipped: tests/postgres_server.py chooses the server (the configured
one, the local one, or a throwaway embedded one) and a failure fails the run. Each pytest session
works in its own fresh database (dropped at the end), so parallel runs never clash.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import app.models
from app.db import make_engine
from app.main import create_app
from app.models import Scope
from app.services.tokens import get_or_create_workspace, issue_token
from app.session_hooks import install_session_hooks
from app.settings import Settings
from tests.messages.servers import (
    ChatReceiver,
    MailServer,
    chat_receiver,
    mail_server,
    with_mail_server,
)
from tests.postgres_server import (
    ENVIRONMENT_VARIABLE,
    EmbeddedServer,
    conninfo,
    postgres_server,
    server_is_running,
    url_for_database,
)

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"
# Tests write through services and by hand, outside create_app and the engine's context too.
install_session_hooks()
# The embedded PostgreSQL this session started, if any: the summary tells whether it is gone.
_EMBEDDED_SERVERS: list[EmbeddedServer] = []


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """The PostgreSQL server of this session (chosen by tests/postgres_server.py), never skipped."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    with ExitStack() as stack:
        try:
            admin_url, embedded = stack.enter_context(postgres_server())
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            pytest.fail(f"PostgreSQL is required and the embedded server did not start: {exc}")
        if embedded is not None:
            _EMBEDDED_SERVERS.append(embedded)
        # Processes the tests start (workers, the CLI, benches) reach the same server.
        os.environ[ENVIRONMENT_VARIABLE] = admin_url
        try:
            yield admin_url
        finally:
            if configured is None:
                del os.environ[ENVIRONMENT_VARIABLE]
            else:
                os.environ[ENVIRONMENT_VARIABLE] = configured


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for server in _EMBEDDED_SERVERS:
        if server.directory.exists() or server_is_running(server.pid):
            state = f"STILL RUNNING or present at {server.directory}"
        else:
            state = "stopped, its data directory removed"
        terminalreporter.write_line(f"embedded PostgreSQL (pid {server.pid}): {state}")


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this pytest session (fails if the server is missing)."""
    admin = conninfo(postgres_admin_url)
    name = f"pb_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for the test suite and did not answer at {admin}: {exc}"
        )
    url = url_for_database(postgres_admin_url, name)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url, pool_size=5)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An empty schema on the parametrized backend."""
    if backend == "sqlite":
        sqlite_engine = make_engine(f"sqlite:///{tmp_path / 'planbridge.db'}")
        SQLModel.metadata.create_all(sqlite_engine)
        yield sqlite_engine
        sqlite_engine.dispose()
        return
    pg_engine: Engine = request.getfixturevalue("_postgres_engine")
    _truncate_all(pg_engine)
    yield pg_engine


@pytest.fixture
def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        allow_private_trackers=True,
        embedded_worker=False,
        # Tests act as the people in a memory tracker through its in-process store by name.
        memory_tracker_dir=":memory:",
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class Tenant:
    """A workspace and a token for it; ``headers`` authenticate requests as that workspace."""

    workspace_id: uuid.UUID
    token: str
    scope: Scope

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_tenant(engine: Engine) -> Any:
    def factory(name: str = "acme", scope: Scope = Scope.admin) -> Tenant:
        with Session(engine) as session:
            workspace = get_or_create_workspace(session, name)
            issued = issue_token(session, workspace.id, scope, name=f"{name}-{scope}")
            session.commit()
            return Tenant(workspace_id=workspace.id, token=issued.token, scope=scope)

    return factory


@pytest.fixture
def tenant(make_tenant: Any) -> Tenant:
    result: Tenant = make_tenant("acme", Scope.admin)
    return result


@pytest.fixture
def other_tenant(make_tenant: Any) -> Tenant:
    result: Tenant = make_tenant("globex", Scope.admin)
    return result


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """A real SMTP server on loopback that keeps what it receives (tests/messages/servers.py)."""
    with mail_server() as server:
        yield server


@pytest.fixture
def chat() -> Iterator[ChatReceiver]:
    """A chat webhook receiver on loopback (tests/messages/servers.py)."""
    with chat_receiver() as receiver:
        yield receiver


@pytest.fixture
def mail_settings(settings: Settings, smtp: MailServer) -> Settings:
    """The test settings, sending e-mail through ``smtp``."""
    return with_mail_server(settings, smtp.url)
