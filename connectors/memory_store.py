"""The memory connector's tracker: a tiny deterministic issue store in SQLite, with fault switches.

A named store lives in process memory (``memory://<name>``); with ``store_path`` it lives in a
file, so a restarted service, and worker processes that are killed and restarted, keep talking to
the same "tracker" (demos, crash tests).
Tests act as the people in the tracker through this class (``person_sets_status`` ...).
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT, kind TEXT NOT NULL, scope TEXT NOT NULL,
    title TEXT NOT NULL, description TEXT NOT NULL, status TEXT NOT NULL, assignee TEXT,
    due_date TEXT, labels TEXT NOT NULL, parent TEXT, updated_at REAL NOT NULL,
    version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS items_version ON items (scope, version);
CREATE INDEX IF NOT EXISTS items_marker ON items (item_id);
CREATE TABLE IF NOT EXISTS faults (name TEXT PRIMARY KEY, remaining INTEGER NOT NULL, options TEXT);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value REAL NOT NULL);
"""

# Faults a test can switch on; "fail_rate" fails that fraction of calls (deterministic per seed).
FAULTS = (
    "server_error",
    "timeout",
    "rate_limit",
    "auth",
    "lose_create_response",
    "down",
    "fail_rate",
)

_keepalive: dict[str, sqlite3.Connection] = {}
_keepalive_lock = threading.Lock()
# One write turn per in-memory store (see ``MemoryTracker._transaction``).
_write_turns: dict[str, threading.Lock] = {}


@dataclass(frozen=True)
class StoredItem:
    id: int
    item_id: str | None
    kind: str
    scope: str
    title: str
    description: str
    status: str
    assignee: str | None
    due_date: date | None
    labels: tuple[str, ...]
    parent: str | None
    updated_at: datetime
    version: int
    deleted: bool


class FaultRaised(Exception):
    """A switched-on fault fired; ``name`` says which (the connector maps it to its error
    family)."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name)
        self.name = name
        self.options = options


class MemoryTracker:
    def __init__(self, name: str, store_path: str | None = None) -> None:
        if store_path:
            self._target, self._uri = store_path, False
            Path(store_path).parent.mkdir(parents=True, exist_ok=True)
        else:
            self._target, self._uri = (
                f"file:planbridge-memory-{name}?mode=memory&cache=shared",
                True,
            )
            with _keepalive_lock:
                # A shared in-memory database lives while one connection to it is open.
                if self._target not in _keepalive:
                    _keepalive[self._target] = self._connect()
        self._local = threading.local()
        if store_path:
            # Several worker processes share the file: WAL lets readers and one writer overlap.
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)  # executescript commits on its own

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._target, uri=self._uri, timeout=30, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA synchronous=NORMAL")
        if self._uri:
            # A shared-cache database locks per table and answers a conflict at once with
            # "database table is locked" (no busy timeout applies): readers take no table locks
            # here, and writers take turns (``_Tx``), so threads of one process never collide.
            connection.execute("PRAGMA read_uncommitted = 1")
        return connection

    @property
    def _db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "db", None)
        if connection is None:
            connection = self._connect()
            self._local.db = connection
        return connection

    class _Tx:
        def __init__(self, db: sqlite3.Connection, turn: threading.Lock | None) -> None:
            self.db, self.turn = db, turn

        def __enter__(self) -> sqlite3.Connection:
            if self.turn is not None:
                self.turn.acquire()
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except BaseException:
                if self.turn is not None:
                    self.turn.release()
                raise
            return self.db

        def __exit__(self, exc_type: object, *_: object) -> None:
            try:
                self.db.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                if self.turn is not None:
                    self.turn.release()

    def _transaction(self) -> MemoryTracker._Tx:
        # In memory (shared cache), this process's writers take turns; a file store's writers
        # wait for each other in SQLite (busy timeout), across processes too.
        turn = _write_turns.setdefault(self._target, threading.Lock()) if self._uri else None
        return MemoryTracker._Tx(self._db, turn)

    # --- clock --------------------------------------------------------------------------------

    def now(self) -> datetime:
        row = self._db.execute("SELECT value FROM meta WHERE name = 'clock_offset'").fetchone()
        return datetime.fromtimestamp(time.time() + (row[0] if row else 0.0), UTC)

    def advance_clock(self, seconds: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meta (name, value) VALUES ('clock_offset', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (seconds,),
            )

    # --- faults and counters --------------------------------------------------------------------

    def inject_fault(self, fault: str, count: int = 1, **options: Any) -> None:
        """Make the next ``count`` calls fail (count -1: until cleared)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO faults (name, remaining, options) VALUES (?, ?, ?)",
                (fault, count, json.dumps(options)),
            )

    def clear_faults(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM faults")

    def count(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _bump(self, db: sqlite3.Connection, name: str) -> int:
        row = db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchone()
        return int(row[0])

    def enter_call(self, operation: str, *, is_write: bool) -> None:
        """Count the call and raise FaultRaised when a switched-on fault applies to it."""
        fired: FaultRaised | None = None
        with self._transaction() as db:
            number = self._bump(db, "calls")
            self._bump(db, f"calls:{operation}")
            for row in db.execute("SELECT name, remaining, options FROM faults").fetchall():
                name, remaining, options = row[0], row[1], json.loads(row[2] or "{}")
                if name == "lose_create_response":
                    continue  # fires after the create is stored, see create()
                if name == "fail_rate":
                    rng = random.Random(f"{options.get('seed', 0)}:{number}")
                    if rng.random() < float(options.get("rate", 0.2)):
                        kinds = options.get("kinds", ["server_error", "timeout", "rate_limit"])
                        fired = FaultRaised(kinds[rng.randrange(len(kinds))], options)
                        break
                    continue
                if remaining == 0:
                    continue
                if remaining > 0:
                    db.execute(
                        "UPDATE faults SET remaining = remaining - 1 WHERE name = ?", (name,)
                    )
                fired = FaultRaised(name, options)
                break
            if fired is not None:
                # Counted in the same transaction, raised after it commits.
                self._bump(db, f"faults:{fired.name}")
            elif is_write:
                self._bump(db, "writes")
        if fired is not None:
            raise fired

    # --- items ------------------------------------------------------------------------------------

    def _next_version(self, db: sqlite3.Connection) -> tuple[int, float]:
        version = self._bump(db, "version")
        # Strictly increasing timestamps, so "newer than" is always decidable.
        stamp = max(self.now().timestamp(), self._last_stamp(db) + 0.001)
        db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('last_stamp', ?)", (stamp,))
        return version, stamp

    def _last_stamp(self, db: sqlite3.Connection) -> float:
        row = db.execute("SELECT value FROM meta WHERE name = 'last_stamp'").fetchone()
        return float(row[0]) if row else 0.0

    def create(self, values: dict[str, Any]) -> StoredItem:
        with self._transaction() as db:
            version, stamp = self._next_version(db)
            cursor = db.execute(
                "INSERT INTO items (item_id, kind, scope, title, description, status, assignee,"
                " due_date, labels, parent, updated_at, version)"
                " VALUES (?, ?, ?, ?, ?, 'todo', ?, ?, ?, ?, ?, ?)",
                (
                    values["item_id"],
                    values["kind"],
                    values["scope"],
                    values["title"],
                    values["description"],
                    values.get("assignee"),
                    values.get("due_date"),
                    json.dumps(list(values.get("labels", ()))),
                    values.get("parent"),
                    stamp,
                    version,
                ),
            )
            created_id = int(cursor.lastrowid or 0)
            lost = db.execute(
                "SELECT remaining FROM faults"
                " WHERE name = 'lose_create_response' AND remaining != 0"
            ).fetchone()
            if lost is not None:
                db.execute(
                    "UPDATE faults SET remaining = remaining - 1 "
                    "WHERE name = 'lose_create_response' AND remaining > 0"
                )
        if lost is not None:
            raise FaultRaised("lose_create_response", {})
        found = self.get(created_id)
        assert found is not None
        return found

    def update(self, item_id: int, values: dict[str, Any]) -> StoredItem | None:
        allowed = {
            "title",
            "description",
            "status",
            "assignee",
            "due_date",
            "labels",
            "parent",
            "deleted",
        }
        columns = {
            k: (json.dumps(list(v)) if k == "labels" else v)
            for k, v in values.items()
            if k in allowed
        }
        with self._transaction() as db:
            version, stamp = self._next_version(db)
            assignments = ", ".join(f"{column} = ?" for column in columns)
            db.execute(
                f"UPDATE items SET {assignments}{', ' if columns else ''}"
                "updated_at = ?, version = ? WHERE id = ?",
                (*columns.values(), stamp, version, item_id),
            )
        return self.get(item_id)

    def get(self, item_id: int) -> StoredItem | None:
        row = self._db.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return _stored(row) if row else None

    def find_marker(
        self, item_id: uuid.UUID, kind: str, scope: str | None = None
    ) -> StoredItem | None:
        """The oldest object with the marker, in ``scope`` only when given (as real trackers
        search one project, repository or board)."""
        row = self._db.execute(
            "SELECT * FROM items WHERE item_id = ? AND kind = ? AND (? IS NULL OR scope = ?)"
            " ORDER BY id LIMIT 1",
            (str(item_id), kind, scope, scope),
        ).fetchone()
        return _stored(row) if row else None

    def changed_since(self, scope: str, version: int, limit: int) -> list[StoredItem]:
        rows = self._db.execute(
            "SELECT * FROM items WHERE scope = ? AND version > ? ORDER BY version LIMIT ?",
            (scope, version, limit),
        ).fetchall()
        return [_stored(row) for row in rows]

    def all_items(self, scope: str | None = None) -> list[StoredItem]:
        query, arguments = "SELECT * FROM items WHERE deleted = 0", ()
        if scope is not None:
            query, arguments = query + " AND scope = ?", (scope,)  # type: ignore[assignment]
        return [
            _stored(row) for row in self._db.execute(query + " ORDER BY id", arguments).fetchall()
        ]

    def object_count(self, scope: str | None = None) -> int:
        return len(self.all_items(scope))

    def marker_counts(self) -> dict[str, int]:
        """How many live objects carry each item's marker (a duplicate shows as 2 or more)."""
        rows = self._db.execute(
            "SELECT item_id, COUNT(*) FROM items WHERE deleted = 0 GROUP BY item_id"
        ).fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    # --- acting as a person in the tracker ---------------------------------------------------

    def person_sets_status(self, external_id: str, status: str) -> StoredItem | None:
        return self.update(int(external_id), {"status": status})

    def person_edits_title(self, external_id: str, title: str) -> StoredItem | None:
        return self.update(int(external_id), {"title": title})

    def person_deletes(self, external_id: str) -> StoredItem | None:
        return self.update(int(external_id), {"deleted": 1})


def _stored(row: sqlite3.Row) -> StoredItem:
    return StoredItem(
        id=int(row["id"]),
        item_id=row["item_id"],
        kind=row["kind"],
        scope=row["scope"],
        title=row["title"],
        description=row["description"],
        status=row["status"],
        assignee=row["assignee"],
        due_date=date.fromisoformat(row["due_date"]) if row["due_date"] else None,
        labels=tuple(json.loads(row["labels"])),
        parent=row["parent"],
        updated_at=datetime.fromtimestamp(float(row["updated_at"]), UTC),
        version=int(row["version"]),
        deleted=bool(row["deleted"]),
    )
