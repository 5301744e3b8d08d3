"""Goals: what a plan wants to achieve, with one owner and an optional tracker mirror."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import ActionItem, Connection, Goal, Person, Plan
from app.schemas.common import RuleWarning
from app.services.items import record_deleted_items
from app.services.pagination import PageSlice, paginate_values
from app.services.tenancy import get_in_workspace, require_reference
from app.services.tracker_links import goal_links, with_links

# Changes to these are pushed to a goal's tracker mirror, so they bump ``Goal.revision``.
GOAL_PLANNING_FIELDS = frozenset({"title", "description", "target_date", "owner_id"})


def _check_references(session: Session, workspace_id: uuid.UUID, values: dict[str, Any]) -> None:
    """The plan, owner and connection named in ``values`` exist in the workspace, else a 422."""
    if "plan_id" in values:
        require_reference(session, Plan, values["plan_id"], workspace_id, "plan_id")
    if "owner_id" in values:
        require_reference(session, Person, values["owner_id"], workspace_id, "owner_id")
    if values.get("connection_id") is not None:
        require_reference(
            session, Connection, values["connection_id"], workspace_id, "connection_id"
        )


def _plan_of(session: Session, goal: Goal) -> Plan:
    return get_in_workspace(session, Plan, goal.plan_id, goal.workspace_id)


def goal_warnings(goal: Goal, plan: Plan) -> list[RuleWarning]:
    target = goal.target_date
    if target is not None and not plan.start_date <= target <= plan.end_date:
        return [
            RuleWarning(
                code="target_outside_plan",
                message=f"The target date {target.isoformat()} is outside the plan "
                f"({plan.start_date.isoformat()} to {plan.end_date.isoformat()}).",
                field="target_date",
            )
        ]
    return []


def create_goal(
    session: Session, workspace_id: uuid.UUID, values: dict[str, Any]
) -> tuple[Goal, list[RuleWarning]]:
    _check_references(session, workspace_id, values)
    goal = Goal(workspace_id=workspace_id, **values)
    plan = _plan_of(session, goal)
    session.add(goal)
    session.flush()
    return goal, goal_warnings(goal, plan)


def get_goal(session: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID) -> Goal:
    return get_in_workspace(session, Goal, goal_id, workspace_id)


def list_goals(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    plan_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> PageSlice[dict[str, Any]]:
    conditions = [col(Goal.workspace_id) == workspace_id]
    if plan_id is not None:
        conditions.append(col(Goal.plan_id) == plan_id)
    if owner_id is not None:
        conditions.append(col(Goal.owner_id) == owner_id)
    page = paginate_values(session, Goal, conditions, limit=limit, offset=offset)
    links = goal_links(session, workspace_id, [row["id"] for row in page.rows])
    return replace(page, rows=with_links(page.rows, links))


def update_goal(
    session: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID, changes: dict[str, Any]
) -> tuple[Goal, list[RuleWarning]]:
    goal = get_goal(session, workspace_id, goal_id)
    changed = {field for field, value in changes.items() if getattr(goal, field) != value}
    _check_references(session, workspace_id, {field: changes[field] for field in changed})
    for field in changed:
        setattr(goal, field, changes[field])
    plan = _plan_of(session, goal)
    if changed:
        if changed & GOAL_PLANNING_FIELDS:
            goal.revision += 1
        goal.updated_at = utcnow()
        session.add(goal)
        session.flush()
    return goal, goal_warnings(goal, plan)


def delete_goal(
    session: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID, *, actor: str
) -> None:
    """Delete a goal and its items (the database cascades); each item's deletion is an event."""
    goal = get_goal(session, workspace_id, goal_id)
    items = session.exec(select(ActionItem).where(ActionItem.goal_id == goal.id)).all()
    record_deleted_items(session, items, actor=actor, reason="goal deleted")
    session.delete(goal)
    session.flush()
