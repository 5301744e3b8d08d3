"""Write a plan document as the Markdown outline that markdown_reader reads back."""

from __future__ import annotations

from app.services.plan_documents.document import PlanDocument
from app.services.plan_documents.markdown_reader import GOAL_FIELDS, ITEM_FIELDS, PLAN_FIELDS


def _word(name: str, value: object) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f'{name}:"{text}"' if " " in text or not text else f"{name}:{text}"


def _hours(value: float) -> str:
    return f"{value:g}h"


def _fields(values: dict[str, object], names: dict[str, str]) -> list[str]:
    """``name:value`` words for the fields that are set, in the reader's order."""
    return [
        _word(word, values[field])
        for word, field in names.items()
        if values.get(field) not in (None, "")
    ]


def _line(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def write_markdown(document: PlanDocument) -> str:
    plan = document.plan
    plan_values = plan.model_dump()
    lines = [_line("#", plan.name, *_fields(plan_values, PLAN_FIELDS))]
    if plan.settings.post_reviews_to_trackers:
        lines[0] += " post_reviews_to_trackers:true"
    for person in document.people:
        email = f"<{person.email}>" if person.email else ""
        hours = (
            _hours(person.weekly_strategic_hours)
            if person.weekly_strategic_hours is not None
            else ""
        )
        key = _word("key", person.key) if person.key else ""
        lines.append(_line("person:", person.name, email, hours, key))
    for goal in document.goals:
        lines += [
            "",
            _line("##", goal.title, f"@{goal.owner}", *_fields(goal.model_dump(), GOAL_FIELDS)),
        ]
        if goal.description.rstrip():
            lines += goal.description.rstrip().split("\n")
        if goal.items:
            lines.append("")
        for item in goal.items:
            values = item.model_dump()
            status = values.get("status")
            box = "[x]" if status == "done" else "[ ]"
            if status in ("todo", "done"):
                values["status"] = None  # said by the box (an open box leaves status alone)
            words = _fields(values, ITEM_FIELDS)
            due = next(w for w in words if w.startswith("due:"))
            others = [w for w in words if not w.startswith("due:")]
            lines.append(
                _line(
                    "-",
                    box,
                    item.title,
                    f"@{item.owner}",
                    due,
                    _hours(item.estimate_hours),
                    *others,
                )
            )
            lines += [
                f"  {text}" if text else ""
                for text in item.description.rstrip().split("\n")
                if item.description.rstrip()
            ]
    return "\n".join(lines) + "\n"
