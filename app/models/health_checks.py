"""Goals whose health is to be checked: the worker's to-do list for ``goal.health_changed``.

A row says "an item of this goal changed status": item history adds one in the writer's
transaction (only for a workspace with a ``goal.health_changed`` subscriber), and the worker's
goal-health step (``sync/goal_health.py``) takes the rows, compares each goal's health with the
last published one (``GoalHealthState``) and deletes them. Rows are only ever inserted by writers,
never updated, so writers touching one goal at the same time never wait for each other.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.models.base import id_field


class GoalHealthCheck(SQLModel, table=True):
    """One change to a goal's items that its health has not been compared with yet."""

    __tablename__ = "goal_health_check"

    id: uuid.UUID = id_field()
    # No index: the table holds what the worker has not taken yet, a handful of rows.
    workspace_id: uuid.UUID = Field(foreign_key="workspace.id", ondelete="CASCADE")
    goal_id: uuid.UUID = Field(foreign_key="goal.id", ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
