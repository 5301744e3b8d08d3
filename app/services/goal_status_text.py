"""The status block on a goal's tracker mirror: its progress and health as plain text.

The sync engine writes it under the goal's own description (``sync/goal_mirrors.py``), so people
who live in the tracker see what planbridge sees.
"""

from __future__ import annotations

from app.services.health import GoalHealth
from app.services.progress import GoalProgress


def render_goal_status_text(progress: GoalProgress, health: GoalHealth) -> str:
    """The block the sync engine writes into a goal's tracker mirror (epic, milestone, card)."""
    percent_text = "no planned work" if progress.percent is None else f"{progress.percent:g} % done"
    lines = [
        f"planbridge status: {percent_text} ({progress.done_hours:g} of {progress.total_hours:g} "
        f"h), "
        f"health {health.health.replace('_', ' ')}",
    ]
    if progress.change is not None:
        lines.append(f"Change since last week: {progress.change:+g} points")
    if health.forecast_finish is not None:
        lines.append(f"Forecast finish: {health.forecast_finish} (deadline {health.deadline})")
    lines += [f"- {reason.message}" for reason in health.reasons]
    if health.confidence is not None:
        lines.append(
            f"Owner's confidence ({health.confidence_week}): {health.confidence.replace('_', ' ')}"
        )
    return "\n".join(lines)
