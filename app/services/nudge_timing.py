"""When a nudge may reach a person: not in the workspace's quiet hours, not on a weekend (the
person's own time), and working days for "blocked for more than 2 working days" and "3 working
days later, tell the next one".

Quiet hours are a start and an end of local time; a start after the end spans midnight (the
default 20:00-08:00). Equal start and end mean no quiet hours.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

SATURDAY = 5


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _at(day: datetime, moment: time) -> datetime:
    return day.replace(hour=moment.hour, minute=moment.minute, second=0, microsecond=0)


def next_allowed_time(at: datetime, zone: ZoneInfo, quiet_start: time, quiet_end: time) -> datetime:
    """``at`` itself if a nudge may go then, else the first later instant that is allowed (the
    end of the quiet hours on the next working day); in UTC."""
    local = at.astimezone(zone)
    for _ in range(10):  # at most a night and a weekend to skip
        if local.weekday() >= SATURDAY:
            monday = local + timedelta(days=7 - local.weekday())
            local = _at(monday, time(0, 0))
            continue
        if not in_quiet_hours(local.time().replace(tzinfo=None), quiet_start, quiet_end):
            return local.astimezone(at.tzinfo)
        end_today = _at(local, quiet_end)
        local = end_today if local < end_today else _at(local + timedelta(days=1), quiet_end)
        local = local.replace(tzinfo=zone)  # re-resolve the offset across a DST change
    return local.astimezone(at.tzinfo)


def add_working_days(at: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The instant ``days`` working days (Monday to Friday, local) after ``at``, at the same local
    time: Friday 10:00 plus 3 working days is Wednesday 10:00."""
    local = at.astimezone(zone)
    counted = 0
    while counted < days:
        local = (local + timedelta(days=1)).replace(tzinfo=zone)
        if local.weekday() < SATURDAY:
            counted += 1
    return local.astimezone(at.tzinfo)


def week_start(at: datetime, zone: ZoneInfo) -> datetime:
    """Monday 00:00 of the local week of ``at``: the weekly cap counts from here."""
    local = at.astimezone(zone)
    monday = local - timedelta(days=local.weekday())
    return _at(monday, time(0, 0)).replace(tzinfo=zone).astimezone(at.tzinfo)
