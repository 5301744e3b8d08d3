"""Seeding for bench/rollups.py: one plan of 200 goals, 100,000 items and 1,000,000 item events.

Each event's change to its goal's hours goes into the goal hours ledger as the ORM hook would
write it (``app.models.hours_ledger.ledger_changes`` on the item's previous and new snapshot), and
each item's ``last_event_at`` is the time of its last event, as the same hook keeps it.

The rows go in through the database driver in large batches: executemany on SQLite (one
transaction, foreign-key checks off for the load), COPY on PostgreSQL (psycopg ``cursor.copy``).
The secondary indexes of the two big tables are dropped before the load and built once after it:
maintaining five random-key B-trees row by row is what made the first version take minutes.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Table, insert, text
from sqlalchemy.engine import Dialect, Engine

from app.models import ActionItem, Goal, GoalHoursChange, ItemEvent, Person, Plan, Workspace
from app.models.hours_ledger import Snapshot, ledger_changes
from app.services.spread import item_load

PLAN_START, PLAN_END = date(2027, 1, 4), date(2027, 6, 27)
NOW = datetime(2027, 4, 15, 12, 0, tzinfo=UTC)
FINAL_STATUS = [("done", 45), ("in_progress", 20), ("todo", 20), ("blocked", 8), ("dropped", 7)]
CHUNK_ITEMS = 10_000

ITEM_TABLE: Table = ActionItem.__table__  # type: ignore[attr-defined]
EVENT_TABLE: Table = ItemEvent.__table__  # type: ignore[attr-defined]
LEDGER_TABLE: Table = GoalHoursChange.__table__  # type: ignore[attr-defined]
ITEM_COLUMNS = [
    "id",
    "workspace_id",
    "goal_id",
    "title",
    "description",
    "owner_id",
    "due_date",
    "start_date",
    "estimate_hours",
    "status",
    "revision",
    "created_at",
    "updated_at",
    "last_activity_at",
    "done_at",
    "last_event_at",
    "load_from",
    "load_to",
    "load_per_day",
]
EVENT_COLUMNS = [
    "id",
    "workspace_id",
    "item_id",
    "goal_id",
    "kind",
    "source",
    "field",
    "to_value",
    "estimate_hours",
    "status",
    "data",
    "at",
]
LEDGER_COLUMNS = ["id", "workspace_id", "goal_id", "event_id", "at", "total_hours", "done_hours"]


def seed(engine: Engine, goals: int, items: int, events: int, people: int = 50) -> uuid.UUID:
    """Load the data set and analyse it; returns the plan id."""
    rng = random.Random(7)
    workspace_id, plan_id = uuid.uuid4(), uuid.uuid4()
    person_ids = [uuid.uuid4() for _ in range(people)]
    goal_ids = [uuid.uuid4() for _ in range(goals)]
    _seed_small_tables(engine, rng, workspace_id, plan_id, person_ids, goal_ids)
    chunks = _item_chunks(rng, workspace_id, person_ids, goal_ids, items, events)
    secondary = [
        index for table in (ITEM_TABLE, EVENT_TABLE, LEDGER_TABLE) for index in table.indexes
    ]
    with engine.begin() as connection:
        for index in secondary:
            index.drop(connection)
    if engine.dialect.name == "postgresql":
        _copy_postgres(engine, chunks)
    else:
        _executemany_sqlite(engine, chunks)
    with engine.begin() as connection:
        for index in secondary:
            index.create(connection)
        connection.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        # A freshly loaded table has no visibility map yet: without VACUUM every "index-only"
        # scan still visits the heap. VACUUM cannot run in a transaction, hence autocommit.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return plan_id


def _seed_small_tables(
    engine: Engine,
    rng: random.Random,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    person_ids: list[uuid.UUID],
    goal_ids: list[uuid.UUID],
) -> None:
    created = datetime(2027, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Workspace),
            [{"id": workspace_id, "name": f"bench-{workspace_id.hex[:6]}", "created_at": created}],
        )
        connection.execute(
            insert(Person),
            [
                {
                    "id": person_id,
                    "workspace_id": workspace_id,
                    "name": f"Person {number}",
                    "weekly_strategic_hours": float(rng.choice([8, 12, 16, 20])),
                    "identities": {},
                    "created_at": created,
                    "updated_at": created,
                }
                for number, person_id in enumerate(person_ids)
            ],
        )
        connection.execute(
            insert(Plan),
            [
                {
                    "id": plan_id,
                    "workspace_id": workspace_id,
                    "name": "Bench plan",
                    "start_date": PLAN_START,
                    "end_date": PLAN_END,
                    "post_reviews_to_trackers": False,
                    "created_at": created,
                    "updated_at": created,
                }
            ],
        )
        connection.execute(
            insert(Goal),
            [
                {
                    "id": goal_id,
                    "workspace_id": workspace_id,
                    "plan_id": plan_id,
                    "title": f"Goal {number}",
                    "description": "",
                    "owner_id": person_ids[number % len(person_ids)],
                    "target_date": PLAN_END - timedelta(days=rng.randrange(0, 60)),
                    "revision": 1,
                    "created_at": created + timedelta(seconds=number),
                    "updated_at": created,
                }
                for number, goal_id in enumerate(goal_ids)
            ],
        )


Rows = list[tuple[Any, ...]]
Chunk = tuple[Rows, Rows, Rows]  # items, events, ledger rows


def _item_chunks(
    rng: random.Random,
    workspace_id: uuid.UUID,
    person_ids: list[uuid.UUID],
    goal_ids: list[uuid.UUID],
    items: int,
    events: int,
) -> Iterator[Chunk]:
    """Item, event and ledger rows (in the *_COLUMNS orders), a chunk at a time."""
    events_per_item = max(1, events // items)
    statuses, weights = zip(*FINAL_STATUS, strict=True)
    plan_start = datetime.combine(PLAN_START, datetime.min.time(), tzinfo=UTC)
    span = (NOW - timedelta(days=10) - plan_start).total_seconds()
    item_rows: Rows = []
    event_rows: Rows = []
    ledger_rows: Rows = []
    for number in range(items):
        item_id, goal_id = uuid.uuid4(), goal_ids[number % len(goal_ids)]
        created_at = plan_start + timedelta(seconds=rng.random() * span)
        # Work on an item happens within its few weeks of life, not spread evenly up to now.
        lifetime = min((NOW - created_at).total_seconds(), rng.uniform(3, 35) * 86_400)
        times = sorted(
            created_at + timedelta(seconds=rng.random() * lifetime)
            for _ in range(events_per_item - 1)
        )
        estimate = float(rng.choice([1, 2, 3, 4, 6, 8]))
        due = created_at.date() + timedelta(days=rng.randrange(3, 40))
        # Most work due weeks ago is finished; open work is mostly recent (as in a plan that runs).
        if due < NOW.date() - timedelta(days=14):
            final = rng.choices(statuses, [85, 2, 3, 3, 7])[0]
        else:
            final = rng.choices(statuses, weights)[0]
        owner = person_ids[(number % len(goal_ids) + rng.randrange(3)) % len(person_ids)]
        status = "todo"
        history = [("created", created_at, status)]
        for index, moment in enumerate(times):
            status = (
                final
                if index == len(times) - 1
                else rng.choice(["todo", "in_progress", "in_progress", "blocked"])
            )
            history.append(("status", moment, status))
        previous: Snapshot | None = None
        for kind, moment, snapshot in history:
            field = "status" if kind == "status" else None
            event_id = uuid.uuid4()
            current = Snapshot(goal_id, snapshot, estimate, kind)
            ledger_rows.extend(
                (uuid.uuid4(), workspace_id, goal, event_id, moment, total, done)
                for goal, total, done in ledger_changes(previous, current)
            )
            previous = current
            event_rows.append(
                (
                    event_id,
                    workspace_id,
                    item_id,
                    goal_id,
                    kind,
                    "api",
                    field,
                    snapshot,
                    estimate,
                    snapshot,
                    {},
                    moment,
                )
            )
        last = history[-1][1]
        done_at = last if final == "done" else None
        item_rows.append(
            (
                item_id,
                workspace_id,
                goal_id,
                f"Item {number}",
                "",
                owner,
                due,
                None,
                estimate,
                final,
                1,
                created_at,
                last,
                last,
                done_at,
                last,  # last_event_at: the history is in time order
                # What the ORM hook stores for capacity (start: the creation date).
                *item_load(created_at.date(), due, estimate),
            )
        )
        if len(item_rows) >= CHUNK_ITEMS:
            yield item_rows, event_rows, ledger_rows
            item_rows, event_rows, ledger_rows = [], [], []
    if item_rows:
        yield item_rows, event_rows, ledger_rows


def _executemany_sqlite(engine: Engine, chunks: Iterator[Chunk]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # Foreign keys can only be switched outside a transaction; the generated data are sound.
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("BEGIN")
        item_writer = _sqlite_writer(cursor, engine.dialect, ITEM_TABLE, ITEM_COLUMNS)
        event_writer = _sqlite_writer(cursor, engine.dialect, EVENT_TABLE, EVENT_COLUMNS)
        ledger_writer = _sqlite_writer(cursor, engine.dialect, LEDGER_TABLE, LEDGER_COLUMNS)
        for item_rows, event_rows, ledger_rows in chunks:
            item_writer(item_rows)
            event_writer(event_rows)
            ledger_writer(ledger_rows)
        cursor.execute("COMMIT")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()


def _sqlite_writer(
    cursor: Any, dialect: Dialect, table: Table, columns: list[str]
) -> Callable[[Rows], None]:
    """executemany on the driver, with each value stored as SQLAlchemy would store it."""
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )

    def write(rows: Rows) -> None:
        cursor.executemany(
            statement,
            (
                tuple(
                    value if process is None or value is None else process(value)
                    for process, value in zip(processors, row, strict=True)
                )
                for row in rows
            ),
        )

    return write


def _copy_postgres(engine: Engine, chunks: Iterator[Chunk]) -> None:
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for item_rows, event_rows, ledger_rows in chunks:
            for table, columns, rows in (
                (ITEM_TABLE, ITEM_COLUMNS, item_rows),
                (EVENT_TABLE, EVENT_COLUMNS, event_rows),
                (LEDGER_TABLE, LEDGER_COLUMNS, ledger_rows),
            ):
                # COPY takes JSON as text; every other value psycopg adapts by itself.
                json_positions = [
                    position
                    for position, name in enumerate(columns)
                    if isinstance(table.c[name].type, JSON)
                ]
                with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        values = list(row)
                        for position in json_positions:
                            values[position] = json.dumps(values[position])
                        copy.write_row(values)
