"""ISO 8601 weeks ("2027-W03"): parsing, bounds and arithmetic, shared by capacity, check-ins and
reviews."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.errors import InvalidField

_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


def weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always falls in the last ISO week of its year."""
    return date(year, 12, 28).isocalendar().week


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, value: str, *, field: str | list[str | int] = "iso_week") -> IsoWeek:
        """``2027-W03`` -> IsoWeek, or a 422 naming ``field`` (week 53 only in years that have
        one)."""
        match = _PATTERN.match(value.strip())
        if match is None:
            raise InvalidField(field, f"'{value}' is not an ISO week like 2027-W03")
        year, week = int(match.group(1)), int(match.group(2))
        if not 1 <= year <= 9998 or not 1 <= week <= weeks_in_year(year):
            raise InvalidField(
                field, f"'{value}' does not exist: {year} has {weeks_in_year(year)} weeks"
            )
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        calendar = day.isocalendar()
        return cls(calendar.year, calendar.week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def start_utc(self) -> datetime:
        """The week's first instant (Monday 00:00 UTC); reviews cut their history here."""
        return datetime.combine(self.monday, time(0), tzinfo=UTC)

    @property
    def end_utc(self) -> datetime:
        """The next Monday 00:00 UTC (exclusive)."""
        return self.start_utc + timedelta(days=7)

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"


def working_days(first: date, last: date) -> int:
    """Monday-to-Friday days in [first, last], in constant time."""
    if last < first:
        return 0
    total_days = (last - first).days + 1
    full_weeks, rest = divmod(total_days, 7)
    count = full_weeks * 5
    weekday = first.weekday()
    for offset in range(rest):
        if (weekday + offset) % 7 < 5:
            count += 1
    return count
