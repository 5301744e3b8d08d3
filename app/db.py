"""Engine and sessions: SQLite (WAL, foreign keys, busy timeout) embedded, or PostgreSQL."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import create_engine


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC timestamp is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalize_database_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


log = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT_SECONDS = 10
# Statements that start writing: DML and DDL, and SAVEPOINT, which opens a transaction that
# usually reads before it writes.
_WRITE_STATEMENTS = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER"}
)
_HOLDS_WRITE_TURN = "planbridge_holds_sqlite_write_turn"


def _starts_writing(statement: str) -> bool:
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in _WRITE_STATEMENTS


def _install_sqlite_write_turn(engine: Engine) -> None:
    """Every transaction of this process that writes, a request's or a worker thread's, takes the
    engine's write turn at its first write and gives it back when it ends.

    SQLite has one writer at a time. Writers that find it busy poll with back-off, and some poll
    past the busy timeout under a burst ("database is locked"); a transaction that read first and
    then writes fails at once if another one committed in between (its snapshot is stale, no busy
    timeout applies). So the process's writers wait for each other here instead, and a
    transaction opened by a savepoint starts with ``BEGIN IMMEDIATE``: it reads what the previous
    turn committed. A turn not given within the busy timeout (a writer that waits for another
    connection of its own thread) is skipped, and SQLite decides as it did without the turn.
    """
    turn = threading.Lock()

    def take_turn(
        connection: Connection,
        cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if connection.info.get(_HOLDS_WRITE_TURN) or not _starts_writing(statement):
            return
        if not turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
            log.warning("waited %d s for the SQLite write turn", SQLITE_BUSY_TIMEOUT_SECONDS)
            return
        connection.info[_HOLDS_WRITE_TURN] = True
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and not dbapi_connection.in_transaction:
            cursor.execute("BEGIN IMMEDIATE")

    def give_turn_back(connection: Connection) -> None:
        if connection.info.pop(_HOLDS_WRITE_TURN, False):
            turn.release()

    def give_turn_back_on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # A connection invalidated mid-transaction ends it without a rollback event.
        if record is not None and record.info.pop(_HOLDS_WRITE_TURN, False):
            turn.release()

    event.listen(engine, "before_cursor_execute", take_turn)
    event.listen(engine, "commit", give_turn_back)
    event.listen(engine, "rollback", give_turn_back)
    event.listen(engine.pool, "checkin", give_turn_back_on_checkin)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API and the embedded worker read while the other writes; busy_timeout makes a
    # writer wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        event.listen(engine, "connect", _configure_sqlite)
        _install_sqlite_write_turn(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )
