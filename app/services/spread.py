"""The spread rule: how an item's estimate is laid over the working days from its start to its
due date. Its one home; capacity, the weekly review, the load columns and the plan import read it.

The estimate spreads evenly over the working days (Monday to Friday) from ``min(start, due)`` to
``due``, both included; a span with no working day (a weekend) puts the whole estimate in the due
date's week (on its Friday, for the load columns).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from app.schemas.weeks import IsoWeek, working_days


def item_load(start: date, due: date, estimate: float) -> tuple[date, date, float]:
    """First and last working day of an item's spread and its hours per working day.

    The capacity rule of ``app.services.capacity``: the estimate spreads evenly over the working
    days from ``min(start, due)`` to ``due``; a span with no working day (a weekend) puts the
    whole estimate on that week's Friday, which is in the due date's ISO week.
    """
    first = min(start, due)
    days = working_days(first, due)
    if days == 0:
        friday = due - timedelta(days=due.weekday() - 4)
        return friday, friday, estimate
    if first.weekday() >= 5:
        first += timedelta(days=7 - first.weekday())
    last = due - timedelta(days=due.weekday() - 4) if due.weekday() >= 5 else due
    return first, last, estimate / days


def spread_estimate(start: date, due: date, estimate: float) -> dict[IsoWeek, float]:
    """The item's hours per ISO week, spread evenly over its working days."""
    days, weeks = _spread_shape(min(start, due), due)
    if days == 0:
        return {weeks[0][0]: estimate}
    per_day = estimate / days
    return {week: per_day * count for week, count in weeks}


def week_share(start: date, due: date, week: IsoWeek) -> tuple[int, int]:
    """The working days of the span from ``start`` to ``due`` and how many of them fall in
    ``week``; no working day at all: (0, 1) if ``due`` is in ``week``, else (0, 0). Depends on
    the dates only, so the weekly review computes it once per (start, due) pair and reads one
    week of a spread without building ``spread_estimate``'s dict of every week."""
    first = min(start, due)
    days = working_days(first, due)
    if days == 0:
        return 0, int(IsoWeek.of(due) == week)
    return days, working_days(max(first, week.monday), min(due, week.sunday))


def hours_of_share(estimate: float, share: tuple[int, int]) -> float:
    """One week's hours of an estimate, from ``week_share``: the same operations as
    ``spread_estimate``, so the same float."""
    days, count = share
    if days == 0:
        return estimate if count else 0.0
    return estimate / days * count if count else 0.0


@lru_cache(maxsize=8192)
def _spread_shape(start: date, due: date) -> tuple[int, tuple[tuple[IsoWeek, int], ...]]:
    """Working days of the span and, per week with any, how many; shared by every item with the
    same span (a plan has far fewer distinct spans than items). Without a working day: the due
    date's week alone."""
    days = working_days(start, due)
    if days == 0:
        return 0, ((IsoWeek.of(due), 0),)
    weeks: list[tuple[IsoWeek, int]] = []
    monday = start - timedelta(days=start.weekday())
    while monday <= due:
        count = working_days(max(start, monday), min(due, monday + timedelta(days=6)))
        if count:
            weeks.append((IsoWeek.of(monday), count))
        monday += timedelta(days=7)
    return days, tuple(weeks)
