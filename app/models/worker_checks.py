"""When the worker's periodic checks that are shared by every worker on the database are next due.

One row per check (``name``, e.g. ``nudge_round``): whichever engine thread of whichever worker
process moves ``due_at`` forward first runs the check for that interval, and the others wait for
the new ``due_at`` (``sync/check_turns.py`` says why a row and how it is taken).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


class WorkerCheck(SQLModel, table=True):
    """A periodic check and the instant from which the next worker may run it."""

    __tablename__ = "worker_check"

    name: str = Field(primary_key=True, max_length=64)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
