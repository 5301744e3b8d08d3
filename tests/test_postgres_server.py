"""The tests find a PostgreSQL on any machine: the configured one, the local one, or their own."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.postgres_server import (
    EMBEDDED,
    ENVIRONMENT_VARIABLE,
    chosen_server,
    conninfo,
    postgres_server,
    server_is_running,
    url_for_database,
)
from tests.trackers.server import free_port


def test_configured_url_is_used_as_given() -> None:
    configured = "postgresql://ci@db.internal:6543/ci"
    assert chosen_server(configured, local_url="postgresql://nobody@127.0.0.1:1/none") == configured


def test_local_server_is_used_when_it_accepts_connections(postgres_admin_url: str) -> None:
    assert chosen_server(None, local_url=postgres_admin_url) == postgres_admin_url


def test_embedded_server_is_chosen_when_nothing_answers_locally() -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    assert chosen_server(None, local_url=closed) == EMBEDDED


def test_database_is_swapped_without_losing_a_socket_host() -> None:
    socket_url = url_for_database("postgresql://postgres:@/postgres?host=/tmp/pg-data", "pb_x")
    parsed = make_url(socket_url)
    assert (parsed.drivername, parsed.database) == ("postgresql+psycopg", "pb_x")
    assert parsed.query["host"] == "/tmp/pg-data"
    tcp_url = url_for_database("postgresql://postgres@127.0.0.1:5432/test", "pb_y")
    assert tcp_url == "postgresql+psycopg://postgres@127.0.0.1:5432/pb_y"


def test_embedded_forced_by_the_environment_answers_then_is_stopped_and_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, EMBEDDED)
    with postgres_server() as (admin_url, embedded):
        assert embedded is not None
        with psycopg.connect(conninfo(admin_url)) as connection:
            row = connection.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert row is not None and row[0] >= 160000
        assert embedded.directory.exists() and server_is_running(embedded.pid)
    assert not embedded.directory.exists()
    # pg_ctl stop waits for the shutdown; the process may take a moment to be reaped.
    deadline = time.monotonic() + 10
    while server_is_running(embedded.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server_is_running(embedded.pid)
