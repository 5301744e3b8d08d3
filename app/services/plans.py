"""Plans: planning cycles with a start and an end."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import InvalidField
from app.models import ActionItem, Connection, Goal, Person, Plan
from app.services.items import record_deleted_items
from app.services.pagination import PageSlice, paginate_values
from app.services.tenancy import get_in_workspace, require_reference


def _check_references(session: Session, workspace_id: uuid.UUID, values: dict[str, Any]) -> None:
    # Checked before the values are set on the row, so that no autoflush writes a dangling id.
    if values.get("default_connection_id") is not None:
        require_reference(
            session,
            Connection,
            values["default_connection_id"],
            workspace_id,
            "default_connection_id",
        )
    if values.get("owner_id") is not None:
        require_reference(session, Person, values["owner_id"], workspace_id, "owner_id")


def _check_dates(plan: Plan) -> None:
    if plan.end_date < plan.start_date:
        raise InvalidField(
            "end_date",
            f"end_date {plan.end_date.isoformat()} is before "
            f"start_date {plan.start_date.isoformat()}.",
        )


def create_plan(session: Session, workspace_id: uuid.UUID, values: dict[str, Any]) -> Plan:
    _check_references(session, workspace_id, values)
    plan = Plan(workspace_id=workspace_id, **values)
    _check_dates(plan)
    session.add(plan)
    session.flush()
    return plan


def get_plan(session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID) -> Plan:
    return get_in_workspace(session, Plan, plan_id, workspace_id)


def list_plans(
    session: Session, workspace_id: uuid.UUID, *, limit: int, offset: int
) -> PageSlice[dict[str, Any]]:
    conditions = [col(Plan.workspace_id) == workspace_id]
    return paginate_values(session, Plan, conditions, limit=limit, offset=offset)


def update_plan(
    session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID, changes: dict[str, Any]
) -> Plan:
    plan = get_plan(session, workspace_id, plan_id)
    _check_references(session, workspace_id, changes)
    with session.no_autoflush:
        for field, value in changes.items():
            setattr(plan, field, value)
        _check_dates(plan)
    plan.updated_at = utcnow()
    session.add(plan)
    session.flush()
    return plan


def delete_plan(
    session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID, *, actor: str
) -> None:
    """Delete a plan with its goals and their items (the database cascades; items get events)."""
    plan = get_plan(session, workspace_id, plan_id)
    goals_of_plan = select(Goal.id).where(Goal.plan_id == plan.id)
    items = session.exec(select(ActionItem).where(col(ActionItem.goal_id).in_(goals_of_plan))).all()
    record_deleted_items(session, items, actor=actor, reason="plan deleted")
    session.delete(plan)
    session.flush()
