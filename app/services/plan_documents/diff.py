"""The difference between a plan document and the workspace: what an apply creates, updates,
leaves alone and (with prune) deletes, field by field.

How objects are matched (also in docs/plan-documents.md):

- the plan by the ``plan_id`` the caller names, else by its ``key``, else by its name;
- goals and items first by ``key`` (item keys are plan-wide, so an item moves between goals by
  key), then by title: a goal among the plan's goals, an item among its goal's items; the n-th
  object with a title matches the n-th unmatched one with that title (oldest first), so a file
  without keys and with repeated titles still applies exactly.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from app.models import ActionItem, Goal, Plan, PlanDocumentKey
from app.services.item_history import event_value
from app.services.plan_documents.document import (
    GoalEntry,
    ItemEntry,
    PersonDeclaration,
    PlanDocument,
)
from app.services.plan_documents.places import Path, Places, Problem, json_path, problem_at
from app.services.plan_documents.references import (
    PersonSlot,
    References,
    load_references,
    resolve_connection,
    resolve_person,
)
from app.services.plan_documents.report import Change, FieldChange

# What the difference reads of each item (the fields a document sets, and its id and goal).
ITEM_COLUMNS = (
    "id",
    "goal_id",
    "title",
    "description",
    "owner_id",
    "due_date",
    "start_date",
    "estimate_hours",
    "status",
    "connection_id",
    "scope",
)


@dataclass
class PlannedPerson:
    slot: PersonSlot
    changes: dict[str, Any]  # for an existing person, the declared fields that differ
    change: Change


@dataclass
class PlannedObject:
    """One plan, goal or item of the document, with its row (if it exists) and wanted values.

    ``values`` hold ids, except ``owner`` (a PersonSlot, whose person may be created first) and,
    for items, ``goal`` (the PlannedObject of its goal, which may be created first)."""

    path: Path
    key: str | None
    row: Any
    values: dict[str, Any]
    change: Change
    stored_key: str | None = None


@dataclass
class ChangeSet:
    people: list[PlannedPerson] = field(default_factory=list)
    plan: PlannedObject | None = None
    goals: list[PlannedObject] = field(default_factory=list)
    items: list[PlannedObject] = field(default_factory=list)
    delete_goals: list[Goal] = field(default_factory=list)
    delete_items: list[Any] = field(default_factory=list)  # rows with an id
    left_alone: list[Change] = field(default_factory=list)
    # The (kind, key) pairs the plan's goals and items hold now, before the apply.
    held_keys: set[tuple[str, str]] = field(default_factory=set)
    errors: list[Problem] = field(default_factory=list)

    def all_changes(self) -> list[Change]:
        planned = [self.plan] if self.plan else []
        return [
            *(p.change for p in self.people),
            *(o.change for o in [*planned, *self.goals, *self.items]),
            *self.left_alone,
        ]


def _change(
    action: Any, kind: Any, title: str, key: str | None, row: Any, path: Path | None, places: Places
) -> Change:
    place = places.of(path) if path is not None else None
    return Change(
        action=action,
        kind=kind,
        title=title,
        key=key,
        id=getattr(row, "id", None),
        path=json_path(path) if path is not None else None,
        line=place.line if place else None,
        row=place.row if place else None,
    )


class _Differ:
    def __init__(
        self, session: Session, workspace_id: uuid.UUID, document: PlanDocument, places: Places
    ) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.document = document
        self.places = places
        self.refs: References = load_references(session, workspace_id, document)
        self.result = ChangeSet()

    # ---- display of values in the field-by-field difference -------------------------------

    def _shown(self, name: str, value: Any) -> str | None:
        if isinstance(value, PersonSlot):
            return value.label
        if name == "owner_id":
            return self.refs.person_label(value)
        if name in ("connection_id", "default_connection_id"):
            return self.refs.connection_label(value)
        if isinstance(value, PlannedObject):
            return value.change.title
        if name == "goal_id" and value is not None:
            goal = self.session.get(Goal, value)
            return goal.title if goal else str(value)
        return event_value(value)

    def _field_changes(self, row: Any, values: dict[str, Any]) -> list[FieldChange]:
        changes = []
        for name, wanted in values.items():
            current = getattr(row, name) if row is not None else None
            if isinstance(wanted, PersonSlot):
                differs = row is None or wanted.id != current
            elif isinstance(wanted, PlannedObject):
                differs = row is None or wanted.row is None or wanted.row.id != current
            elif name == "description" and row is not None:
                # Trailing line ends are not part of a text (Markdown and YAML's ``|`` disagree).
                differs = wanted.rstrip() != (current or "").rstrip()
            else:
                differs = row is None or wanted != current
            if differs and not (row is None and wanted in (None, "")):
                old = self._shown(name, current) if row is not None else None
                changes.append(FieldChange(field=name, old=old, new=self._shown(name, wanted)))
        return changes

    def _plan_object(
        self,
        kind: str,
        path: Path,
        key: str | None,
        row: Any,
        values: dict[str, Any],
        title: str,
        stored_key: str | None,
    ) -> PlannedObject:
        fields = self._field_changes(row, values)
        if key is not None and key != stored_key and row is not None:
            fields.append(FieldChange(field="key", old=stored_key, new=key))
        action = "create" if row is None else ("update" if fields else "unchanged")
        change = _change(action, kind, title, key, row, path, self.places)
        change.fields = fields
        return PlannedObject(path, key, row, values, change, stored_key)

    def _error(self, path: Path, code: str, message: str) -> None:
        self.result.errors.append(problem_at(self.places, path, code, message))

    # ---- people, plan, goals, items ---------------------------------------------------------

    def people(self) -> None:
        for slot in self.refs.declared:
            declaration: PersonDeclaration = slot.declaration  # type: ignore[assignment]
            wanted: dict[str, Any] = {"name": declaration.name, "email": declaration.email}
            if declaration.weekly_strategic_hours is not None:
                wanted["weekly_strategic_hours"] = declaration.weekly_strategic_hours
            if slot.person is not None and declaration.email is None:
                wanted.pop("email")  # matched by name: an email kept in the workspace stays
            fields = self._field_changes(slot.person, wanted)
            action = "create" if slot.person is None else ("update" if fields else "unchanged")
            change = _change(
                action,
                "person",
                declaration.name,
                declaration.key,
                slot.person,
                slot.path,
                self.places,
            )
            change.fields = fields
            changed = {f.field: wanted[f.field] for f in fields}
            self.result.people.append(PlannedPerson(slot, changed, change))

    def _owner(self, reference: str, path: Path) -> PersonSlot | None:
        return resolve_person(self.refs, reference, self.places, path, self.result.errors)

    def _connection(self, name: str | None, path: Path) -> uuid.UUID | None:
        return resolve_connection(self.refs, name, self.places, path, self.result.errors)

    def _stored_keys(self, plan: Plan | None) -> dict[tuple[str, uuid.UUID], str]:
        if plan is None:
            return {}
        rows = self.session.execute(
            select_columns(
                col(PlanDocumentKey.kind),
                col(PlanDocumentKey.key),
                col(PlanDocumentKey.plan_id),
                col(PlanDocumentKey.goal_id),
                col(PlanDocumentKey.item_id),
            ).where(
                col(PlanDocumentKey.workspace_id) == self.workspace_id,
                col(PlanDocumentKey.plan_id) == plan.id,
            )
        ).all()
        keys: dict[tuple[str, uuid.UUID], str] = {}
        for row in rows:
            target = row.item_id or row.goal_id or row.plan_id
            keys[(row.kind, target)] = row.key
        return keys

    def find_plan(self, plan_id: uuid.UUID | None) -> Plan | None:
        section = self.document.plan
        if plan_id is not None:
            plan = self.session.get(Plan, plan_id)
            if plan is None or plan.workspace_id != self.workspace_id:
                self._error(("plan",), "unknown_plan", f"No plan with id {plan_id} here.")
                return None
            return plan
        if section.key is not None:
            found = self.session.exec(
                select(Plan)
                .join(PlanDocumentKey, col(PlanDocumentKey.plan_id) == col(Plan.id))
                .where(
                    PlanDocumentKey.workspace_id == self.workspace_id,
                    PlanDocumentKey.kind == "plan",
                    PlanDocumentKey.key == section.key,
                )
            ).first()
            if found is not None:
                return found
        named = self.session.exec(
            select(Plan)
            .where(Plan.workspace_id == self.workspace_id, Plan.name == section.name)
            .order_by(col(Plan.created_at), col(Plan.id))
        ).all()
        if len(named) > 1:
            self._error(
                ("plan", "name"),
                "ambiguous_plan",
                f"{len(named)} plans are named {section.name!r}: give the plan a key, or apply "
                "to one of them by its id (plan_id, --plan).",
            )
        return named[0] if named else None

    def plan(self, plan: Plan | None, keys: dict[tuple[str, uuid.UUID], str]) -> None:
        section = self.document.plan
        values = {
            "name": section.name,
            "start_date": section.start_date,
            "end_date": section.end_date,
            "default_connection_id": self._connection(section.connection, ("plan", "connection")),
            "default_scope": section.scope,
            "post_reviews_to_trackers": section.settings.post_reviews_to_trackers,
        }
        stored = keys.get(("plan", plan.id)) if plan else None
        self.result.plan = self._plan_object(
            "plan", ("plan",), section.key, plan, values, section.name, stored
        )

    def goals(self, plan: Plan | None, keys: dict[tuple[str, uuid.UUID], str]) -> None:
        existing: list[Goal] = []
        if plan is not None:
            existing = list(
                self.session.exec(
                    select(Goal)
                    .where(Goal.workspace_id == self.workspace_id, Goal.plan_id == plan.id)
                    .order_by(col(Goal.created_at), col(Goal.id))
                ).all()
            )
        entries = list(enumerate(self.document.goals))
        matched = _match(
            [(g, e.key, e.title, None) for g, e in entries],
            [(row, keys.get(("goal", row.id)), row.title, None) for row in existing],
        )
        for index, entry in entries:
            self.result.goals.append(self._goal(index, entry, matched.get(index), keys))
        claimed = {id(row) for row in matched.values()}
        self._unmatched_goals = [row for row in existing if id(row) not in claimed]

    def _goal(
        self,
        index: int,
        entry: GoalEntry,
        row: Goal | None,
        keys: dict[tuple[str, uuid.UUID], str],
    ) -> PlannedObject:
        path: Path = ("goals", index)
        values: dict[str, Any] = {
            "title": entry.title,
            "description": entry.description,
            "owner_id": self._owner(entry.owner, (*path, "owner")),
            "target_date": entry.target_date,
            "connection_id": self._connection(entry.connection, (*path, "connection")),
            "scope": entry.scope,
        }
        stored = keys.get(("goal", row.id)) if row else None
        return self._plan_object("goal", path, entry.key, row, values, entry.title, stored)

    def items(self, plan: Plan | None, keys: dict[tuple[str, uuid.UUID], str]) -> None:
        existing: list[Any] = []
        if plan is not None:
            goals_of_plan = select(Goal.id).where(Goal.plan_id == plan.id)
            # Plain rows, not ORM objects: 2,000 items read in a fraction of the time; the few
            # items an apply changes are loaded by update_item.
            existing = list(
                self.session.execute(
                    select_columns(*[getattr(ActionItem, name) for name in ITEM_COLUMNS])
                    .where(
                        col(ActionItem.workspace_id) == self.workspace_id,
                        col(ActionItem.goal_id).in_(goals_of_plan),
                    )
                    .order_by(col(ActionItem.created_at), col(ActionItem.id))
                ).all()
            )
        entries = [
            (g, i, item)
            for g, goal in enumerate(self.document.goals)
            for i, item in enumerate(goal.items)
        ]
        goal_rows = [planned.row for planned in self.result.goals]
        matched = _match(
            [
                ((g, i), item.key, item.title, goal_rows[g].id if goal_rows[g] else None)
                for g, i, item in entries
            ],
            [(row, keys.get(("item", row.id)), row.title, row.goal_id) for row in existing],
        )
        for g, i, item in entries:
            row = matched.get((g, i))
            self.result.items.append(self._item(g, i, item, row, keys))
        claimed = {id(row) for row in matched.values()}
        self._unmatched_items = [row for row in existing if id(row) not in claimed]

    def _item(
        self,
        g: int,
        i: int,
        entry: ItemEntry,
        row: Any,
        keys: dict[tuple[str, uuid.UUID], str],
    ) -> PlannedObject:
        path: Path = ("goals", g, "items", i)
        goal = self.result.goals[g]
        values: dict[str, Any] = {
            "goal_id": goal,
            "title": entry.title,
            "description": entry.description,
            "owner_id": self._owner(entry.owner, (*path, "owner")),
            "due_date": entry.due_date,
            "start_date": entry.start_date,
            "estimate_hours": entry.estimate_hours,
            "connection_id": self._connection(entry.connection, (*path, "connection")),
            "scope": entry.scope,
        }
        if entry.status is not None:
            values["status"] = entry.status
        stored = keys.get(("item", row.id)) if row else None
        return self._plan_object("item", path, entry.key, row, values, entry.title, stored)

    def leftovers(self, prune: bool) -> None:
        pruned_goals = {row.id for row in self._unmatched_goals} if prune else set()
        for goal in self._unmatched_goals:
            action = "delete" if prune else "not_in_document"
            self.result.left_alone.append(
                _change(action, "goal", goal.title, None, goal, None, self.places)
            )
            if prune:
                self.result.delete_goals.append(goal)
        for item in self._unmatched_items:
            action = "delete" if prune else "not_in_document"
            self.result.left_alone.append(
                _change(action, "item", item.title, None, item, None, self.places)
            )
            if prune and item.goal_id not in pruned_goals:
                self.result.delete_items.append(item)


def _match(
    wanted: list[tuple[Any, str | None, str, uuid.UUID | None]],
    existing: list[tuple[Any, str | None, str, uuid.UUID | None]],
) -> dict[Any, Any]:
    """Document entries to rows: by key first, then by title within the same parent.

    Each tuple is (handle, key, title, parent id); a row is claimed at most once. Rows without a
    stored key are preferred for a title match, so a keyed row stays free for its own key."""
    result: dict[Any, Any] = {}
    by_key = {key: row for row, key, _, _ in existing if key is not None}
    claimed: set[int] = set()
    for handle, key, _, _ in wanted:
        row = by_key.get(key) if key is not None else None
        if row is not None:
            result[handle] = row
            claimed.add(id(row))
    by_title: dict[tuple[uuid.UUID | None, str], list[Any]] = defaultdict(list)
    for row, _key, title, parent in sorted(existing, key=lambda entry: entry[1] is not None):
        by_title[(parent, title)].append(row)
    for handle, _, title, parent in wanted:
        if handle in result:
            continue
        for row in by_title.get((parent, title), []):
            if id(row) not in claimed:
                result[handle] = row
                claimed.add(id(row))
                break
    return result


def plan_changes(
    session: Session,
    workspace_id: uuid.UUID,
    document: PlanDocument,
    places: Places,
    *,
    prune: bool,
    plan_id: uuid.UUID | None = None,
) -> ChangeSet:
    """Everything an apply of ``document`` would do; reads only, writes nothing."""
    differ = _Differ(session, workspace_id, document, places)
    differ.people()
    plan = differ.find_plan(plan_id)
    keys = differ._stored_keys(plan)
    differ.result.held_keys = {(kind, key) for (kind, _), key in keys.items()}
    differ.plan(plan, keys)
    differ.goals(plan, keys)
    differ.items(plan, keys)
    differ.leftovers(prune)
    return differ.result
