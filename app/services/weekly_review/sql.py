"""How the weekly review's queries read: ids and statuses as text, plain rows, no JIT, and the
"touched since the cut" test every query of a past week makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, or_, text
from sqlmodel import Session, col

from app.models import ActionItem


def text_id(column: Any) -> Any:
    """A UUID column as 32 hex digits on both databases (SQLite stores that text already;
    PostgreSQL's text form has hyphens). The review keeps ids as text: tens of thousands of
    ``uuid.UUID`` objects, built and hashed in Python, cost more than all the queries."""
    return func.replace(cast(column, String), "-", "")


def status_text(column: Any) -> Any:
    """A status column as its text (the ``ItemStatus`` value): no enum conversion per row."""
    return cast(column, String)


def plain_rows(session: Session, statement: Any) -> Sequence[Any]:
    """The statement's rows through the session's connection, fetched at once: plain rows,
    without the ORM's result handling (a third of the reading time for tens of thousands of
    rows), and one driver call, not one per row."""
    return session.connection().execute(statement).all()


def without_jit(session: Session) -> None:
    """On PostgreSQL, no JIT compilation for the rest of the transaction: the review's queries
    over tens of thousands of items pass ``jit_above_cost`` and spent 10 to 50 ms each compiling
    expressions they then ran once (60 to 100 ms per cold review in all)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def touched_since(at: datetime) -> Any:
    """On ``action_item``: the item has an event after ``at``, a test of its ``last_event_at``
    (its latest event's time, kept by ``app.services.item_history``); with the plan's goals, one
    range of ``ix_action_item_goal_last_event`` per goal."""
    return col(ActionItem.last_event_at) > at


def untouched_since(at: datetime) -> Any:
    """The negation of ``touched_since``: no event after ``at`` (or none at all)."""
    return or_(col(ActionItem.last_event_at).is_(None), col(ActionItem.last_event_at) <= at)
