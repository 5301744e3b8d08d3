"""A plan of the workspace as a plan document: applying it to the same workspace changes
nothing, applying it to an empty one recreates the plan (its owners are declared under people)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.models import ActionItem, Connection, Goal, Person, Plan, PlanDocumentKey
from app.services.plan_documents.document import (
    FORMAT_VERSION,
    GoalEntry,
    ItemEntry,
    PersonDeclaration,
    PlanDocument,
    PlanSection,
    PlanSettings,
)
from app.services.plans import get_plan


def _person_keys(owners: list[Person]) -> dict[uuid.UUID, str]:
    """The key each owner is declared with and named by: the email's local part (``ada``),
    else the name (``ada-lovelace``), with a number when two would be the same."""
    names: dict[uuid.UUID, str] = {}
    taken: set[str] = set()
    for person in owners:
        source = person.email.split("@")[0] if person.email else person.name
        base = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-") or "person"
        key, n = base, 1
        while key in taken:
            n += 1
            key = f"{base}-{n}"
        taken.add(key)
        names[person.id] = key
    return names


@dataclass
class _PlanRows:
    """What an export reads of a plan: its goals and items in order, their document keys, the
    workspace's connection names, and the owners in order with the keys they are declared with."""

    plan: Plan
    goals: Sequence[Goal]
    items_of: dict[uuid.UUID, list[ActionItem]]
    keys: dict[uuid.UUID, str]
    connections: dict[uuid.UUID, str]
    owners: list[Person]
    names: dict[uuid.UUID, str]

    def connection(self, connection_id: uuid.UUID | None) -> str | None:
        return self.connections.get(connection_id) if connection_id else None


def _read(session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID) -> _PlanRows:
    plan: Plan = get_plan(session, workspace_id, plan_id)
    goals = session.exec(
        select(Goal).where(Goal.plan_id == plan.id).order_by(col(Goal.created_at), col(Goal.id))
    ).all()
    items = session.exec(
        select(ActionItem)
        .where(col(ActionItem.goal_id).in_([goal.id for goal in goals]))
        .order_by(col(ActionItem.created_at), col(ActionItem.id))
    ).all()
    keys = {
        row.item_id or row.goal_id or row.plan_id: row.key
        for row in session.exec(
            select(PlanDocumentKey).where(PlanDocumentKey.plan_id == plan.id)
        ).all()
    }
    connections = {
        row.id: row.name
        for row in session.exec(
            select(Connection).where(Connection.workspace_id == workspace_id)
        ).all()
    }
    owner_ids = {goal.owner_id for goal in goals} | {item.owner_id for item in items}
    owners = list(
        session.exec(
            select(Person)
            .where(col(Person.id).in_(owner_ids))
            .order_by(col(Person.created_at), col(Person.id))
        ).all()
    )
    items_of: dict[uuid.UUID, list[ActionItem]] = {goal.id: [] for goal in goals}
    for item in items:
        items_of[item.goal_id].append(item)
    return _PlanRows(plan, goals, items_of, keys, connections, owners, _person_keys(owners))


def _item_entry(rows: _PlanRows, item: ActionItem) -> ItemEntry:
    return ItemEntry(
        key=rows.keys.get(item.id),
        title=item.title,
        owner=rows.names[item.owner_id],
        due_date=item.due_date,
        estimate_hours=item.estimate_hours,
        start_date=item.start_date,
        status=item.status,
        description=item.description,
        connection=rows.connection(item.connection_id),
        scope=item.scope,
    )


def _goal_entry(rows: _PlanRows, goal: Goal) -> GoalEntry:
    return GoalEntry(
        key=rows.keys.get(goal.id),
        title=goal.title,
        owner=rows.names[goal.owner_id],
        target_date=goal.target_date,
        description=goal.description,
        connection=rows.connection(goal.connection_id),
        scope=goal.scope,
        items=[_item_entry(rows, item) for item in rows.items_of[goal.id]],
    )


def export_plan(session: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID) -> PlanDocument:
    rows = _read(session, workspace_id, plan_id)
    plan = rows.plan
    return PlanDocument(
        format=FORMAT_VERSION,
        plan=PlanSection(
            key=rows.keys.get(plan.id),
            name=plan.name,
            start_date=plan.start_date,
            end_date=plan.end_date,
            connection=rows.connection(plan.default_connection_id),
            scope=plan.default_scope,
            settings=PlanSettings(post_reviews_to_trackers=plan.post_reviews_to_trackers),
        ),
        people=[
            PersonDeclaration(
                key=rows.names[person.id],
                name=person.name,
                email=person.email,
                weekly_strategic_hours=person.weekly_strategic_hours,
            )
            for person in rows.owners
        ],
        goals=[_goal_entry(rows, goal) for goal in rows.goals],
    )


def document_data(document: PlanDocument) -> dict[str, Any]:
    """The document as plain data, without the fields left at their defaults."""
    data = document.model_dump(mode="json", exclude_defaults=True)
    return {"format": FORMAT_VERSION, **data}
