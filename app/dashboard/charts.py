"""The burn-up chart: scope hours and done hours of a goal over time, drawn as inline SVG.

The series come from the ItemEvent history: every event carries the item's estimate and status right
after it, so replaying the events in time order gives the scope (hours of items not dropped) and the
done hours at every moment, exactly as they were then, whatever happened later.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from html import escape

from sqlmodel import Session, col, select

from app.models import ItemEvent, ItemStatus

# Vertical layout in CSS pixels: two label rows ("today", "target") above the plot, dates below.
HEIGHT = 260
TODAY_ROW = 12.0
END_ROW = 27.0
PLOT_TOP = 36.0
PLOT_BOTTOM = 228.0
DATE_ROW = 248.0
# The lines are drawn in an inner SVG this many units wide, stretched to the figure's width.
X_UNITS = 1000.0
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Most week labels per width (the media queries of dashboard.css): a "14 Dec" label is about 45 px
# of 12 px text, and the plot is about 1,000 px wide in a wide window, 600 px in a middle one and
# 270 px on a 390 px phone. Hidden labels keep their week's tick mark.
WEEK_LABELS_WIDE = 16
WEEK_LABELS_MIDDLE = 9
WEEK_LABELS_NARROW = 4


@dataclass(frozen=True)
class BurnupPoint:
    at: datetime
    scope_hours: float
    done_hours: float


def burnup_series(events: Iterable[ItemEvent], until: datetime) -> list[BurnupPoint]:
    """One point per instant the figures changed, plus a last point at ``until``."""
    latest: dict[uuid.UUID, tuple[ItemStatus, float]] = {}
    points: list[BurnupPoint] = []
    for event in events:
        if event.item_id is None or event.status is None:
            continue
        latest[event.item_id] = (ItemStatus(event.status), float(event.estimate_hours or 0.0))
        scope = sum(hours for status, hours in latest.values() if status != ItemStatus.dropped)
        done = sum(hours for status, hours in latest.values() if status == ItemStatus.done)
        point = BurnupPoint(at=event.at, scope_hours=round(scope, 2), done_hours=round(done, 2))
        if points and points[-1].at == point.at:
            points[-1] = point
        else:
            points.append(point)
    if points and points[-1].at < until:
        points.append(BurnupPoint(until, points[-1].scope_hours, points[-1].done_hours))
    return points


def goal_burnup(
    db: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID, until: datetime
) -> list[BurnupPoint]:
    events = db.exec(
        select(ItemEvent)
        .where(
            ItemEvent.workspace_id == workspace_id,
            ItemEvent.goal_id == goal_id,
            col(ItemEvent.at) <= until,
        )
        .order_by(col(ItemEvent.at), col(ItemEvent.id))
    ).all()
    return burnup_series(events, until)


def _step_path(points: list[tuple[float, float]]) -> str:
    """A staircase: a figure holds its value until the next event changes it."""
    commands = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for (_, previous_y), (x, y) in itertools.pairwise(points):
        commands.append(f"L{x:.1f},{previous_y:.1f}")
        commands.append(f"L{x:.1f},{y:.1f}")
    return " ".join(commands)


def nice_axis(value: float) -> tuple[float, float]:
    """The hours axis: its top and its step, a 1, 2 or 5 times a power of ten.

    The step is the smallest that covers ``value`` in at most five steps, the top the first multiple
    of it at or above ``value``: 41 h of scope gives 50 h in steps of 10, 26 h gives 30 h.
    """
    value = max(value, 1.0)
    least = value / 5
    magnitude = 10.0 ** math.floor(math.log10(least))
    step = next(
        factor * magnitude for factor in (1, 2, 5, 10) if factor * magnitude >= least * (1 - 1e-9)
    )
    return math.ceil(value / step - 1e-9) * step, step


def label_stride(weeks: int, most_labels: int) -> int:
    """Label every week, every other week, every fourth... whichever first fits ``most_labels``."""
    stride = 1
    while math.ceil(weeks / stride) > most_labels:
        stride *= 2
    return stride


def short_date(day: date) -> str:
    # Month names spelled here, not by strftime: %b follows the server's locale.
    return f"{day.day} {MONTHS[day.month - 1]}"


def _midnight(day: date, zone: tzinfo | None) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _percent(share: float) -> str:
    return f"{100 * share:.2f}%"


@dataclass(frozen=True)
class _Frame:
    """The chart's axes: its time span and its hours scale."""

    start: datetime
    end: datetime
    top: float  # hours at the top of the plot
    step: float  # hours between grid lines

    def share(self, moment: datetime) -> float:
        return (moment - self.start).total_seconds() / (self.end - self.start).total_seconds()

    def x_of(self, moment: datetime) -> float:
        return X_UNITS * self.share(moment)

    def y_of(self, hours: float) -> float:
        return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * hours / self.top


def render_burnup_svg(
    points: list[BurnupPoint],
    *,
    title: str,
    start: date,
    end: date,
    end_label: str = "target",
    forecast: date | None = None,
) -> str:
    """Inline SVG of the burn-up, with a text title and description for screen readers.

    Drawn against the plan: from ``start`` to ``end`` (the goal's deadline) with an ideal line from
    0 h at the start to the scope at the end, a line at today (the series ends now:
    ``burnup_series`` closes it at ``until``), and a forecast line from today's done hours to the
    scope at ``forecast``, the forecast service's finish date.

    The outer SVG has no viewBox, so its text keeps its CSS size at any width (a viewBox scaled
    11 px labels down to 6 px on a phone). The lines sit in an inner SVG stretched to the width,
    with strokes that do not scale; labels and vertical lines are placed in percent of the width.
    """
    if not points:
        return ""
    zone = points[0].at.tzinfo
    forecast_at = _midnight(forecast, zone) if forecast is not None else None
    last = points[-1]
    if forecast_at is not None and (forecast_at <= last.at or last.done_hours >= last.scope_hours):
        forecast_at = None  # finished, or a finish date already behind us: nothing to project
    frame = _frame(points, _midnight(start, zone), _midnight(end, zone), forecast_at)
    description = (
        f"From {frame.start.date().isoformat()} to {last.at.date().isoformat()}: scope "
        f"{last.scope_hours:g} h, done {last.done_hours:g} h. Ideal: all of it by "
        f"{end.isoformat()} ({end_label}). "
        + (
            f"Forecast finish at the recent pace: {forecast.isoformat()}."
            if forecast_at is not None and forecast is not None
            else "No forecast line: nothing is left, or nothing was done in the last four weeks."
        )
    )
    parts = [
        f'<svg class="burnup" width="100%" height="{HEIGHT}" role="img" '
        'aria-labelledby="burnup-title burnup-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="burnup-title">{escape(title)}</title>',
        f'<desc id="burnup-desc">{escape(description)}</desc>',
        *_hour_grid(frame),
        *_week_axis(frame.start, frame.end, frame.share),
        *_plot(frame, points, _midnight(start, zone), _midnight(end, zone), forecast_at),
        *_markers(frame, last.at, _midnight(end, zone), end_label),
        "</svg>",
    ]
    return "".join(parts)


def _frame(
    points: list[BurnupPoint], start: datetime, end: datetime, forecast_at: datetime | None
) -> _Frame:
    """From the plan's start (or the first point) to its deadline, a week at least; past the
    deadline when today or the forecast is later, but at most half the plan's length past it: a
    forecast far past the deadline would squash the plan into the chart's left edge (the forecast
    line is cut there)."""
    now = points[-1].at
    chart_start = min(start, points[0].at)
    deadline = max(end, chart_start + timedelta(days=7))
    horizon = deadline + (deadline - chart_start) / 2
    chart_end = max(deadline, now, min(forecast_at, horizon) if forecast_at else deadline)
    top, step = nice_axis(max(point.scope_hours for point in points))
    return _Frame(chart_start, chart_end, top, step)


def _hour_grid(frame: _Frame) -> list[str]:
    parts = []
    for index in range(round(frame.top / frame.step) + 1):
        hours = round(frame.step * index, 6)
        y = frame.y_of(hours)
        parts.append(f'<line class="grid" x1="0" y1="{y:.1f}" x2="100%" y2="{y:.1f}"/>')
        # Left of the plot, in the margin the stylesheet gives the SVG (it overflows visibly).
        parts.append(
            f'<text class="axis" x="-6" y="{y + 4:.1f}" text-anchor="end">{hours:g} h</text>'
        )
    return parts


def _plot(
    frame: _Frame,
    points: list[BurnupPoint],
    ideal_from: datetime,
    target: datetime,
    forecast_at: datetime | None,
) -> list[str]:
    """The inner SVG stretched to the width: the ideal, forecast, scope and done lines."""
    x_of, y_of = frame.x_of, frame.y_of
    last = points[-1]
    parts = [
        f'<svg class="plot" width="100%" height="{HEIGHT}" viewBox="0 0 {X_UNITS:g} {HEIGHT}" '
        'preserveAspectRatio="none" aria-hidden="true">',
        f'<line class="ideal" x1="{x_of(ideal_from):.1f}" y1="{y_of(0):.1f}" '
        f'x2="{x_of(target):.1f}" y2="{y_of(last.scope_hours):.1f}"/>',
    ]
    if forecast_at is not None:
        now, until = last.at, min(forecast_at, frame.end)
        reached = last.done_hours + (last.scope_hours - last.done_hours) * (
            (until - now).total_seconds() / (forecast_at - now).total_seconds()
        )
        parts.append(
            f'<line class="forecast" x1="{x_of(now):.1f}" y1="{y_of(last.done_hours):.1f}" '
            f'x2="{x_of(until):.1f}" y2="{y_of(reached):.1f}"/>'
        )
    scope = _step_path([(x_of(point.at), y_of(point.scope_hours)) for point in points])
    done = _step_path([(x_of(point.at), y_of(point.done_hours)) for point in points])
    parts.append(f'<path class="scope" d="{scope}"/><path class="done" d="{done}"/>')
    parts.append("</svg>")
    return parts


def _markers(frame: _Frame, now: datetime, target: datetime, end_label: str) -> list[str]:
    """Vertical lines at today and at the target, labelled above the plot."""
    parts = []
    for css_class, moment, row, label in (
        ("today", now, TODAY_ROW, "today"),
        ("target", target, END_ROW, end_label),
    ):
        x = _percent(frame.share(moment))
        parts.append(
            f'<line class="{css_class}" x1="{x}" y1="{row + 4:.1f}" x2="{x}" '
            f'y2="{PLOT_BOTTOM:.1f}"/>'
        )
        parts.append(
            f'<text class="axis marker" x="{x}" y="{row:.1f}" text-anchor="middle">{label}</text>'
        )
    return parts


def _week_axis(start: datetime, end: datetime, share: Callable[[datetime], float]) -> list[str]:
    """A tick a week from ``start``; as many of them labelled as the width has room for.

    Every label is in the page; classes hide the ones a middle or narrow window has no room for.
    """
    days = (end.date() - start.date()).days
    weeks = [start.date() + timedelta(weeks=index) for index in range(days // 7 + 1)]
    wide = label_stride(len(weeks), WEEK_LABELS_WIDE)
    middle = label_stride(len(weeks), WEEK_LABELS_MIDDLE)
    narrow = label_stride(len(weeks), WEEK_LABELS_NARROW)
    parts = []
    for index, day in enumerate(weeks):
        x = _percent(share(_midnight(day, start.tzinfo)))
        parts.append(
            f'<line class="tick" x1="{x}" y1="{PLOT_BOTTOM:.1f}" x2="{x}" '
            f'y2="{PLOT_BOTTOM + 5:.1f}"/>'
        )
        if index % wide:
            continue
        hidden = (" hide-middle" if index % middle else "") + (
            " hide-narrow" if index % narrow else ""
        )
        parts.append(
            f'<text class="axis week{hidden}" x="{x}" y="{DATE_ROW:.1f}" text-anchor="middle">'
            f"{short_date(day)}</text>"
        )
    return parts
