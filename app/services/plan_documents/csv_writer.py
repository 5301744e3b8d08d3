"""Write a plan document as CSV (one row per item; a goal without items gets a row of its own)."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.services.plan_documents.csv_columns import (
    ALL_COLUMNS,
    GOAL_COLUMNS,
    ITEM_COLUMNS,
    PLAN_COLUMNS,
)
from app.services.plan_documents.document import ItemEntry, PlanDocument


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def write_csv(document: PlanDocument) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ALL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    plan = document.plan.model_dump()
    plan["post_reviews_to_trackers"] = document.plan.settings.post_reviews_to_trackers or None
    plan_cells = {column: _cell(plan[name]) for column, name in PLAN_COLUMNS.items()}
    # CSV declares no people: owners are named by email (by key only for people without one).
    emails = {person.key: person.email for person in document.people if person.email}
    for goal in document.goals:
        goal_values = goal.model_dump()
        goal_values["owner"] = emails.get(goal.owner, goal.owner)
        goal_cells = {column: _cell(goal_values[name]) for column, name in GOAL_COLUMNS.items()}
        rows: list[ItemEntry | None] = list(goal.items) or [None]
        for item in rows:
            item_values = item.model_dump() if item is not None else {}
            if item is not None:
                item_values["owner"] = emails.get(item.owner, item.owner)
            item_cells = {
                column: _cell(item_values.get(name)) for column, name in ITEM_COLUMNS.items()
            }
            writer.writerow({**plan_cells, **goal_cells, **item_cells})
    return out.getvalue()
