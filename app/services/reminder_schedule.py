"""When a person's reminders are due, in their own time zone (pure functions, no database).

The weekly reminder of ISO week W is due on the cadence's day of W at its hour, local time. Its
follow-up is due at 09:00 local on the next working day (Monday to Friday) after that day: a
Friday reminder is followed up on Monday. A reminder is sent only while the local week of its due
moment is still running, so a worker that was down sends the one of this week once when it comes
back, and never one of a past week.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.schemas.weeks import IsoWeek
from app.services.reminder_cadence import Cadence

FOLLOW_UP_HOUR = 9


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The instant of ``hour``:00 on ``day`` in ``zone`` (a skipped DST hour moves forward)."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def local_week(now: datetime, zone: ZoneInfo) -> IsoWeek:
    return IsoWeek.of(now.astimezone(zone).date())


def weekly_due(week: IsoWeek, cadence: Cadence, zone: ZoneInfo) -> datetime:
    return _at(week.monday + timedelta(days=cadence.weekday), cadence.hour, zone)


def follow_up_due(weekly: datetime, zone: ZoneInfo) -> datetime:
    """09:00 local on the first Monday-to-Friday day after the weekly reminder's day."""
    day = weekly.astimezone(zone).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return _at(day, FOLLOW_UP_HOUR, zone)


def still_relevant(due: datetime, now: datetime, zone: ZoneInfo) -> bool:
    """Due, and the local week of its due moment is still running."""
    return due <= now and local_week(due, zone) == local_week(now, zone)
