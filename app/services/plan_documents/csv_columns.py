"""The columns of a plan as CSV (one row per item, its goal and plan repeated on each row), and
where each column's value goes in the document. Row 1 is the header."""

from __future__ import annotations

PLAN_COLUMNS = {
    "plan_key": "key",
    "plan": "name",
    "plan_start_date": "start_date",
    "plan_end_date": "end_date",
    "plan_connection": "connection",
    "plan_scope": "scope",
    "plan_post_reviews_to_trackers": "post_reviews_to_trackers",
}
GOAL_COLUMNS = {
    "goal_key": "key",
    "goal": "title",
    "goal_owner": "owner",
    "goal_target_date": "target_date",
    "goal_description": "description",
    "goal_connection": "connection",
    "goal_scope": "scope",
}
ITEM_COLUMNS = {
    "key": "key",
    "title": "title",
    "owner": "owner",
    "due_date": "due_date",
    "estimate_hours": "estimate_hours",
    "start_date": "start_date",
    "status": "status",
    "description": "description",
    "connection": "connection",
    "scope": "scope",
}
ALL_COLUMNS = [*PLAN_COLUMNS, *GOAL_COLUMNS, *ITEM_COLUMNS]
REQUIRED_COLUMNS = [
    "plan",
    "plan_start_date",
    "plan_end_date",
    "goal",
    "goal_owner",
    "title",
    "owner",
    "due_date",
    "estimate_hours",
]
