"""The burn-up chart: scope hours and done hours of a goal over time, drawn as inline SVG.

The series come from the ItemEvent history: every event carries the item's estimate and status right
after it, so replaying the events in time order gives the scope (hours of items not dropped) and the
done hours at every moment, exactly as they were then, whatever happened later.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape

from sqlmodel import Session, col, select

from app.models import ItemEvent, ItemStatus

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 48
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 36


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


def _nice_ceiling(value: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if value <= step * 4:
            return float(step * 4)
    return float(int(value * 1.1) + 1)


def render_burnup_svg(points: list[BurnupPoint], *, title: str, target: date | None = None) -> str:
    """Inline SVG with a text title and description, so screen readers get the figures too."""
    if not points:
        return ""
    start, end = points[0].at, points[-1].at
    if target is not None:
        end = max(end, datetime.combine(target, datetime.min.time(), tzinfo=start.tzinfo))
    span = max((end - start).total_seconds(), 1.0)
    top = _nice_ceiling(max(max(point.scope_hours for point in points), 1.0))
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x_of(moment: datetime) -> float:
        return MARGIN_LEFT + plot_width * (moment - start).total_seconds() / span

    def y_of(hours: float) -> float:
        return MARGIN_TOP + plot_height * (1 - hours / top)

    scope_path = _step_path([(x_of(p.at), y_of(p.scope_hours)) for p in points])
    done_path = _step_path([(x_of(p.at), y_of(p.done_hours)) for p in points])
    last = points[-1]
    description = (
        f"From {start.date().isoformat()} to {last.at.date().isoformat()}: scope "
        f"{last.scope_hours:g} h, done {last.done_hours:g} h."
    )
    parts = [
        f'<svg class="burnup" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="burnup-title burnup-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="burnup-title">{escape(title)}</title>',
        f'<desc id="burnup-desc">{escape(description)}</desc>',
    ]
    for step in range(5):
        hours = top * step / 4
        y = y_of(hours)
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" y1="{y:.1f}" '
            f'x2="{WIDTH - MARGIN_RIGHT}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{hours:g} h</text>'
        )
    # The first and last dates align inward so neither is cut off at the chart's edge.
    for moment, anchor in (
        (start, "start"),
        (start + timedelta(seconds=span / 2), "middle"),
        (end, "end"),
    ):
        parts.append(
            f'<text class="axis" x="{x_of(moment):.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}">'
            f"{moment.date().isoformat()}</text>"
        )
    target_moment = (
        datetime.combine(target, datetime.min.time(), tzinfo=start.tzinfo) if target else None
    )
    if target_moment is not None and target_moment >= start:
        x = x_of(target_moment)
        parts.append(
            f'<line class="target" x1="{x:.1f}" y1="{MARGIN_TOP}" x2="{x:.1f}" '
            f'y2="{HEIGHT - MARGIN_BOTTOM}"/>'
        )
        parts.append(
            f'<text class="axis" x="{x - 4:.1f}" y="{MARGIN_TOP + 10}" '
            'text-anchor="end">target</text>'
        )
    parts.append(f'<path class="scope" d="{scope_path}"/>')
    parts.append(f'<path class="done" d="{done_path}"/>')
    parts.append("</svg>")
    return "".join(parts)
