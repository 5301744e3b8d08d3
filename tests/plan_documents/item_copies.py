"""Comparing copies of the same items written two ways (through ``items`` and through a plan
document's batch) in two workspaces: what the copies must share, leaving out what they cannot."""

from __future__ import annotations

from typing import Any

from app.models import ActionItem

# What differs between two copies of the same item: its id, workspace, goal, owner and times.
OWN_COLUMNS = {
    "id",
    "workspace_id",
    "goal_id",
    "owner_id",
    "created_at",
    "updated_at",
    "last_activity_at",
    "done_at",
    "last_event_at",
}


def shared_columns(item: ActionItem) -> dict[str, Any]:
    """The item's columns but ``OWN_COLUMNS``: equal for two copies of the same item."""
    return {name: value for name, value in item.model_dump().items() if name not in OWN_COLUMNS}
