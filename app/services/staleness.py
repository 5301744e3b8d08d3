"""When an open item is stale: the one rule that health, the attention list, commitments, the
weekly review and the dashboard all use.

An item is stale at an instant when

- it is **in progress** and had no activity in the ``stale_after_days`` before it
  (``PLANBRIDGE_STALE_AFTER_DAYS``, default 7), or
- it is still **to do** although its start date has passed, or, without a start date, when less
  time is left before its due date than its estimate needs at its owner's weekly strategic hours:
  the days from the instant's date through the due date, both included, are fewer than
  ``estimate_hours / weekly_strategic_hours x 7``. An owner without declared weekly hours gives no
  such test (nothing says how long the work takes them); a declared 0 makes every unstarted item
  without a start date late.

Blocked items are listed as blocked, not as stale; done and dropped items are never stale. A
todo item due weeks from now is not stale however long it waits: it is not late yet.

"Activity" is what the reader knows of the item at the instant: the current views (health,
attention, commitments) read ``action_item.last_activity_at`` (every change through planbridge
and the tracker's own update time); the weekly review reads the item's events up to its cut,
the history it can replay for any past week.

The rule is written twice here, on purpose side by side: as a Python test of values in hand
(``is_stale``) and as a SQL condition on ``action_item`` (``stale_condition``) for the readers that
filter or count in the database. ``tests/execution/test_staleness.py`` holds them to each other.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float
from sqlmodel import col

from app.models import ActionItem, ItemStatus

DAYS_PER_WEEK = 7


def quiet_since(at: datetime, stale_after_days: int) -> datetime:
    """The start of the stale period before ``at``: an item with no activity since is quiet."""
    return at - timedelta(days=stale_after_days)


def is_stale(
    status: str,
    *,
    quiet: bool,
    start_date: date | None,
    due_date: date,
    estimate_hours: float,
    weekly_hours: float | None,
    today: date,
) -> bool:
    """The rule of the module for one item: ``quiet`` is "no activity in the stale period"."""
    if status == ItemStatus.in_progress:
        return quiet
    if status != ItemStatus.todo:
        return False
    if start_date is not None:
        return start_date < today
    if weekly_hours is None:
        return False
    days_left = (due_date - today).days + 1
    return days_left * weekly_hours < estimate_hours * DAYS_PER_WEEK


class _DaysBetween(FunctionElement[float]):
    """``last - first`` in days, for a date column and a date (the dialects differ)."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(_DaysBetween, "sqlite")
def _days_between_sqlite(element: _DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    first, last = list(element.clauses)
    last_text, first_text = compiler.process(last, **kw), compiler.process(first, **kw)
    return f"(julianday({last_text}) - julianday({first_text}))"


@compiles(_DaysBetween, "postgresql")
def _days_between_postgresql(element: _DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    first, last = list(element.clauses)
    return f"({compiler.process(last, **kw)} - CAST({compiler.process(first, **kw)} AS DATE))"


def stale_condition(today: date, quiet: Any, weekly_hours: Any) -> Any:
    """``is_stale`` as a SQL condition on ``action_item`` (its current status, start, due date and
    estimate). ``quiet`` is the condition "no activity in the stale period", ``weekly_hours`` the
    owner's declared hours (``person.weekly_strategic_hours`` of a join)."""
    status, due_date = col(ActionItem.status), col(ActionItem.due_date)
    estimate_hours, start_date = col(ActionItem.estimate_hours), col(ActionItem.start_date)
    days_left = _DaysBetween(literal(today), due_date) + 1
    late_without_start = and_(
        weekly_hours.is_not(None), days_left * weekly_hours < estimate_hours * DAYS_PER_WEEK
    )
    not_started_in_time = or_(
        and_(start_date.is_not(None), start_date < today),
        and_(start_date.is_(None), late_without_start),
    )
    return or_(
        and_(status == ItemStatus.in_progress, quiet),
        and_(status == ItemStatus.todo, not_started_in_time),
    )
