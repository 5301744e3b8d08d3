"""Turns at a periodic check shared by every worker on one database: at most one run per interval.

Some of the worker's periodic work is the same whoever runs it (the nudge round: one query over
every open item of the running plans, idempotent). Kept per engine object, its interval made it run
once per interval per engine thread: 2 threads in ``planbridge serve``, 4 per ``planbridge worker``,
times the worker processes on one PostgreSQL. ``take_turn`` makes it run once per interval per
database, by whichever engine gets there first.

Why a row (``worker_check``, one per check, holding when it is next due) and not an advisory lock
or a gate in the process:

- The database is the only thing the processes share (no cache or broker beside it), so a due
  time every process sees has to be stored there. A PostgreSQL try-advisory-lock alone only keeps
  two rounds from running at the same moment; it does not remember that one ran a second ago, so
  the next engine whose own timer fires runs the round again. A gate in the process (a time shared
  by the threads of one worker, through ``EngineContext``) covers one process only.
- A row is one mechanism for both backends, with no second code path: moving ``due_at`` forward is
  a conditional UPDATE, atomic on SQLite (one writer, and the engine's write turn, app/db.py) and
  on PostgreSQL (an UPDATE that meets the winner's uncommitted one waits for its commit, then finds
  the row no longer due and changes nothing: no lock is held beyond that short transaction).
- It is cheap: an engine reads the row (a primary-key lookup) only when the due time it last saw is
  reached; the one that moves it forward runs the check, the others learn the new due time and come
  back then. Nothing writes while the check is not due.

The turn is committed before the check runs. A winner that crashes mid-check leaves the next due
time one interval on, so the next interval retries (the check must be idempotent; the nudge round
is, through the unique keys of ``nudge``, and its own transaction advisory lock still keeps two
rounds from overlapping when one outlasts the interval).

``due_at`` is written with the winner's clock. A due time more than one interval ahead of the
reader's clock (a host whose clock runs ahead, a clock set back) counts as due: a skewed host
delays the others by one interval at most, and hosts whose clocks disagree by more than an
interval may each run the check once per interval, which an idempotent check allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import col

from app.models import WorkerCheck


@dataclass(frozen=True)
class Turn:
    """Whether this caller runs the check now, and when it should ask again."""

    won: bool
    next_check: datetime


def _due_at(engine: Engine, name: str) -> datetime | None:
    query = select(col(WorkerCheck.due_at)).where(col(WorkerCheck.name) == name)
    with engine.connect() as connection:
        due: datetime | None = connection.execute(query).scalar()
    return due


def take_turn(engine: Engine, name: str, now: datetime, interval: timedelta) -> Turn:
    """Take the turn at check ``name`` if it is due at ``now``: then its next due time is moved to
    ``now + interval`` (committed) and ``won`` is true.

    Otherwise ``next_check`` is the due time the winner set, when the caller may ask again.
    """
    next_due = now + interval
    due = _due_at(engine, name)
    if due is not None and now < due <= next_due:
        return Turn(won=False, next_check=due)
    # RETURNING, not rowcount: psycopg's INSERT result does not keep its row count.
    with engine.begin() as connection:
        if due is None:  # the first check on this database
            insert = postgres_insert if engine.dialect.name == "postgresql" else sqlite_insert
            inserted = insert(WorkerCheck).values(name=name, due_at=next_due)
            taken = inserted.on_conflict_do_nothing().returning(col(WorkerCheck.name))
            won = connection.execute(taken).first() is not None
        else:
            stored = col(WorkerCheck.due_at)
            moved = (
                update(WorkerCheck)
                .where(col(WorkerCheck.name) == name, or_(stored <= now, stored > next_due))
                .values(due_at=next_due)
                .returning(col(WorkerCheck.name))
            )
            won = connection.execute(moved).first() is not None
    if won:
        return Turn(won=True, next_check=next_due)
    # Another engine took this interval's turn just now: come back when it is due again.
    return Turn(won=False, next_check=min(_due_at(engine, name) or next_due, next_due))
