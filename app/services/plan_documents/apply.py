"""Carry out a ChangeSet in the caller's transaction, through the same services as the REST API:
the planning rules run on every created or changed item (their warnings and errors come back
at the item's place in the document), and every item change is an event by ``actor`` with a new
revision, so the engine pushes it like any other change. The caller commits, or rolls back a dry
run or a document with errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, insert, or_
from sqlmodel import Session, col, delete

from app.db import utcnow
from app.errors import ServiceError
from app.models import PlanDocumentKey
from app.schemas.common import RuleWarning
from app.services import goals, items, people, plans
from app.services.plan_documents.changed_items import update_changed_items
from app.services.plan_documents.diff import ChangeSet, PlannedObject
from app.services.plan_documents.new_items import create_new_items
from app.services.plan_documents.places import Path, Places, Problem, problem_at
from app.services.plan_documents.references import PersonSlot
from app.settings import Settings


@dataclass
class Outcome:
    plan_id: uuid.UUID | None = None
    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


def _resolved(planned: PlannedObject) -> bool:
    """False when the document names an owner that does not exist (an error already reported):
    the object is left out, so that the other objects' rules still run and report."""
    return planned.values.get("owner_id") is not None


def _goal_exists(planned: PlannedObject) -> bool:
    goal: PlannedObject = planned.values["goal_id"]
    return goal.row is not None


class _Applier:
    def __init__(
        self,
        session: Session,
        workspace_id: uuid.UUID,
        places: Places,
        *,
        actor: str,
        settings: Settings,
    ) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.places = places
        self.actor = actor
        self.settings = settings
        self.outcome = Outcome()

    def _rule_error(self, path: Path, exc: ServiceError) -> None:
        field_name = getattr(exc, "field", [None])[-1]
        at = (*path, field_name) if isinstance(field_name, str) else path
        self.outcome.errors.append(problem_at(self.places, at, "rule", exc.detail))

    def _warnings(self, path: Path, warnings: list[RuleWarning]) -> None:
        for warning in warnings:
            at = (*path, warning.field) if warning.field else path
            self.outcome.warnings.append(
                problem_at(self.places, at, warning.code, warning.message, severity="warning")
            )

    def _ids(self, values: dict[str, Any]) -> dict[str, Any]:
        """The values with the people and goals the document names turned into their ids."""
        resolved = {}
        for name, value in values.items():
            if isinstance(value, PersonSlot):
                value = value.id
            elif isinstance(value, PlannedObject):
                value = value.row.id if value.row is not None else None
            resolved[name] = value
        return resolved

    def _changed(self, planned: PlannedObject) -> dict[str, Any]:
        names = {change.field for change in planned.change.fields} - {"key"}
        return {name: value for name, value in self._ids(planned.values).items() if name in names}

    def people(self, change_set: ChangeSet) -> None:
        for planned in change_set.people:
            slot = planned.slot
            if slot.person is None:
                assert slot.declaration is not None
                values = slot.declaration.model_dump(exclude={"key"})
                slot.person = people.create_person(self.session, self.workspace_id, values)
            elif planned.changes:
                people.update_person(
                    self.session, self.workspace_id, slot.person.id, planned.changes
                )

    def plan(self, planned: PlannedObject) -> None:
        try:
            if planned.row is None:
                planned.row = plans.create_plan(
                    self.session, self.workspace_id, self._ids(planned.values)
                )
            elif self._changed(planned):
                plans.update_plan(
                    self.session, self.workspace_id, planned.row.id, self._changed(planned)
                )
        except ServiceError as exc:
            self._rule_error(planned.path, exc)
        self.outcome.plan_id = planned.row.id if planned.row is not None else None

    def goal(self, planned: PlannedObject) -> None:
        if not _resolved(planned):
            return
        try:
            if planned.row is None:
                values = {"plan_id": self.outcome.plan_id, **self._ids(planned.values)}
                planned.row, warnings = goals.create_goal(self.session, self.workspace_id, values)
                self._warnings(planned.path, warnings)
            elif self._changed(planned):
                _, warnings = goals.update_goal(
                    self.session, self.workspace_id, planned.row.id, self._changed(planned)
                )
                self._warnings(planned.path, warnings)
        except ServiceError as exc:
            self._rule_error(planned.path, exc)

    def new_items(self, planned_items: list[PlannedObject]) -> None:
        """Create the document's new items in bulk (a new plan has thousands)."""
        new = [p for p in planned_items if p.row is None and _resolved(p) and _goal_exists(p)]
        if not new:
            return
        created = create_new_items(
            self.session,
            self.workspace_id,
            [self._ids(planned.values) for planned in new],
            actor=self.actor,
            settings=self.settings,
        )
        for planned, (row, outcome) in zip(new, created, strict=True):
            planned.row = row
            if isinstance(outcome, ServiceError):
                self._rule_error(planned.path, outcome)
            else:
                self._warnings(planned.path, outcome)

    def changed_items(self, planned_items: list[PlannedObject]) -> None:
        """Change the document's existing items in one batch (rules and events once)."""
        changed = [
            planned
            for planned in planned_items
            if planned.change.action == "update"  # the difference's verdict, before any lookup
            and _resolved(planned)
            and _goal_exists(planned)
            and self._changed(planned)
        ]
        if not changed:
            return
        outcomes = update_changed_items(
            self.session,
            self.workspace_id,
            [(planned.row.id, self._changed(planned)) for planned in changed],
            actor=self.actor,
            settings=self.settings,
        )
        for planned, outcome in zip(changed, outcomes, strict=True):
            if isinstance(outcome, ServiceError):
                self._rule_error(planned.path, outcome)
            else:
                self._warnings(planned.path, outcome)

    def deletions(self, change_set: ChangeSet) -> None:
        for item in change_set.delete_items:
            items.delete_item(self.session, self.workspace_id, item.id, actor=self.actor)
        for goal in change_set.delete_goals:
            goals.delete_goal(self.session, self.workspace_id, goal.id, actor=self.actor)

    def keys(self, change_set: ChangeSet) -> None:
        """Store the document's keys of the objects whose key is new or changed: one delete of
        their old keys and of stale holders of the new ones (objects that left the file), one
        insert."""
        plan_id = self.outcome.plan_id
        assert plan_id is not None
        planned = [change_set.plan] if change_set.plan else []
        rows: list[dict[str, Any]] = []
        now = utcnow()
        stale: list[ColumnElement[bool]] = []
        for kind, objects in (
            ("plan", planned),
            ("goal", change_set.goals),
            ("item", change_set.items),
        ):
            keyed = [o for o in objects if o.key is not None and o.key != o.stored_key and o.row]
            if not keyed:
                continue
            held: ColumnElement[bool]
            if kind == "plan":
                # A plan's key is the workspace's: a plan that held it before gives it up, and
                # this plan its old key.
                held = (col(PlanDocumentKey.key) == keyed[0].key) | (
                    col(PlanDocumentKey.plan_id) == plan_id
                )
            else:
                # Only keys held before the apply can be in the way (the object's old key, or
                # the key of an object that left the file): a new plan's thousands need no delete.
                in_the_way = {o.stored_key for o in keyed if o.stored_key} | {
                    str(o.key) for o in keyed if (kind, o.key) in change_set.held_keys
                }
                if not in_the_way:
                    held = false()
                else:
                    held = (col(PlanDocumentKey.plan_id) == plan_id) & col(PlanDocumentKey.key).in_(
                        sorted(in_the_way)
                    )
            stale.append((col(PlanDocumentKey.kind) == kind) & held)
            rows += [
                {
                    "id": uuid.uuid4(),
                    "workspace_id": self.workspace_id,
                    "plan_id": plan_id,
                    "kind": kind,
                    "key": o.key,
                    "goal_id": o.row.id if kind == "goal" else None,
                    "item_id": o.row.id if kind == "item" else None,
                    "created_at": now,
                }
                for o in keyed
            ]
        if not rows:
            return
        self.session.exec(
            delete(PlanDocumentKey).where(
                col(PlanDocumentKey.workspace_id) == self.workspace_id, or_(*stale)
            )
        )
        # A Core insert of plain rows on the session's connection: thousands of keys need no ORM
        # objects, nor the ORM's bulk path (which sorts each row's keys again).
        self.session.connection().execute(insert(PlanDocumentKey), rows)


def apply_changes(
    session: Session,
    workspace_id: uuid.UUID,
    change_set: ChangeSet,
    places: Places,
    *,
    actor: str,
    settings: Settings,
) -> Outcome:
    """Write every change (flushing, never committing); rule errors are collected, not raised."""
    applier = _Applier(session, workspace_id, places, actor=actor, settings=settings)
    applier.people(change_set)
    assert change_set.plan is not None
    applier.plan(change_set.plan)
    if applier.outcome.plan_id is None:
        return applier.outcome
    for goal in change_set.goals:
        applier.goal(goal)
    applier.changed_items(change_set.items)
    applier.new_items(change_set.items)
    applier.deletions(change_set)
    if not applier.outcome.errors:
        applier.keys(change_set)
    return applier.outcome
