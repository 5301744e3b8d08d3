"""The weekly review as Markdown: for the API's ``?format=md`` and for the comment the sync engine
posts on each goal's tracker mirror (sync/review_comments.py)."""

from __future__ import annotations

from app.schemas.reviews import ReviewItem, WeeklyReview


def _items(title: str, items: list[ReviewItem]) -> list[str]:
    if not items:
        return []
    lines = [f"**{title}**", ""]
    lines += [
        f"- {item.title} ({item.owner}, {item.estimate_hours:g} h, due {item.due_date})"
        for item in items
    ]
    return [*lines, ""]


def _sentences(*parts: str) -> str:
    """Free texts as sentences one after the other: each ends with a full stop unless it has
    its own, so a note and the blockers after it never run together."""
    texts = [part.strip() for part in parts if part.strip()]
    return " ".join(text if text[-1] in ".!?" else f"{text}." for text in texts)


def _words(value: str) -> str:
    return value.replace("_", " ")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} %"


def render_review_markdown(review: WeeklyReview) -> str:
    """The review as Markdown: needs help first, then per goal, capacity and check-ins."""
    lines = [f"# {review.plan}: weekly review {review.iso_week}", ""]
    lines.append(
        f"{review.week_start} to {review.week_end}"
        + ("" if review.complete else " (week in progress)")
    )
    lines.append("")
    if review.needs_help:
        lines += ["## Needs help", ""]
        for entry in review.needs_help:
            blockers = f"Blockers: {entry.blockers.strip()}" if entry.blockers.strip() else ""
            said = _sentences(entry.note, blockers) or "No note."
            said_by = f"{entry.owner}, {_words(entry.confidence)}{', late' if entry.late else ''}"
            lines.append(f"- **{entry.goal}** ({said_by}): {said}")
        lines.append("")
    lines += ["## Goals", ""]
    for goal in review.goals:
        change = "n/a" if goal.change is None else f"{goal.change:+g} points"
        lines += [
            f"### {goal.title}",
            "",
            f"Progress {_percent(goal.percent_start)} -> {_percent(goal.percent_end)} ({change}); "
            f"owner {goal.owner}",
            "",
        ]
        lines += _items("Done", goal.done) + _items("Started", goal.started)
        lines += _items("Newly blocked", goal.newly_blocked) + _items("Overdue", goal.overdue)
        lines += _items("Stale", goal.stale) + _items("Due next week", goal.due_next_week)
    if review.over_capacity:
        lines += ["## Over capacity", ""]
        lines += [
            f"- {entry.name}: {entry.planned_hours:g} h planned, {entry.capacity_hours:g} h "
            f"capacity (+{entry.over_by:g} h)"
            for entry in review.over_capacity
        ]
        lines.append("")
    lines += ["## Check-ins", ""]
    lines += [
        f"- {entry.goal} ({entry.owner}{', late' if entry.late else ''}): "
        f"{_sentences(_words(entry.confidence), entry.note)}"
        for entry in review.check_ins
    ]
    if not review.check_ins:
        lines.append("- none received")
    if review.missing_check_ins:
        lines += [
            "",
            "Missing: "
            + ", ".join(f"{entry.goal} ({entry.owner})" for entry in review.missing_check_ins),
        ]
    return "\n".join(lines).rstrip() + "\n"
