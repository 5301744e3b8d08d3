"""Action items: create, change and delete them with their rules, history and revision.

Every change made through the API appends ItemEvent rows (``created``, ``status``, ``planning``,
``deleted``) and bumps ``revision``. Planning changes bump it because the engine must push them to
the tracker; status changes made *through the API* bump it too, because planbridge then wants the
tracker's status to follow (the engine pushes while ``revision > link.pushed_revision``). Status
read back *from* a tracker is recorded by the engine with ``source=tracker`` and does not go
through here, so it never causes a push of what the tracker already says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import InvalidField
from app.models import ActionItem, Connection, EventKind, Goal, ItemEvent, ItemStatus, Person
from app.models.sync import SyncState
from app.schemas.common import RuleWarning
from app.services.item_history import record_item_event
from app.services.item_rules import check_item, check_items, warnings_before_change
from app.services.pagination import PageSlice, paginate, paginate_values
from app.services.tenancy import get_in_workspace, require_reference
from app.services.tracker_links import item_has_link_in, item_links, with_links
from app.settings import Settings

PLANNING_FIELDS = frozenset(
    {
        "title",
        "description",
        "due_date",
        "start_date",
        "estimate_hours",
        "owner_id",
        "goal_id",
        "connection_id",
        "scope",
    }
)


def _check_references(session: Session, workspace_id: uuid.UUID, values: dict[str, Any]) -> None:
    """The goal, owner and connection named in ``values`` exist in the workspace, else a 422.

    Checked before the values are set on the row, so that no autoflush writes a dangling id.
    """
    if "goal_id" in values:
        require_reference(session, Goal, values["goal_id"], workspace_id, "goal_id")
    if "owner_id" in values:
        require_reference(session, Person, values["owner_id"], workspace_id, "owner_id")
    if values.get("connection_id") is not None:
        require_reference(
            session, Connection, values["connection_id"], workspace_id, "connection_id"
        )


def creation_time(start: datetime, index: int) -> datetime:
    """The creation time of the ``index``-th item of a batch created at ``start``: a microsecond
    apart, so that lists in (created_at, id) order keep the given order."""
    return start + timedelta(microseconds=index)


def create_item(
    session: Session,
    workspace_id: uuid.UUID,
    values: dict[str, Any],
    *,
    actor: str,
    settings: Settings,
) -> tuple[ActionItem, list[RuleWarning]]:
    [(item, outcome)] = create_items(
        session, workspace_id, [values], actor=actor, settings=settings
    )
    if isinstance(outcome, InvalidField):
        raise outcome
    return item, outcome


def create_items(
    session: Session,
    workspace_id: uuid.UUID,
    values_of_items: Sequence[dict[str, Any]],
    *,
    actor: str,
    settings: Settings,
) -> list[tuple[ActionItem, list[RuleWarning] | InvalidField]]:
    """Create items in one flush; each with its rules' warnings, or the error of a rule it
    breaks (the caller then rolls the transaction back). A plan import does not come here: it
    inserts its new items as plain rows (``plan_documents.new_items``), which
    tests/plan_documents/test_new_items.py compares with what this writes."""
    for values in values_of_items:
        _check_references(session, workspace_id, values)
    start = utcnow()
    created = []
    for index, values in enumerate(values_of_items):
        now = creation_time(start, index)
        # Every defaulted field given: SQLModel's default factories cost more than the insert.
        item = ActionItem(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            created_at=now,
            updated_at=now,
            last_activity_at=now,
            **values,
        )
        if item.status == ItemStatus.done:
            item.done_at = now
        created.append(item)
    session.add_all(created)
    session.flush()
    outcomes = check_items(session, created, settings)
    for item in created:
        record_item_event(
            session, item, EventKind.created, actor=actor, to_value=item.title, at=item.created_at
        )
    session.flush()
    return list(zip(created, outcomes, strict=True))


def get_item(session: Session, workspace_id: uuid.UUID, item_id: uuid.UUID) -> ActionItem:
    return get_in_workspace(session, ActionItem, item_id, workspace_id)


def list_items(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    goal_id: uuid.UUID | None = None,
    plan_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    statuses: list[ItemStatus] | None = None,
    sync_states: list[SyncState] | None = None,
    limit: int,
    offset: int,
) -> PageSlice[dict[str, Any]]:
    """A page of items as column values, each with its tracker ``links``."""
    conditions = [col(ActionItem.workspace_id) == workspace_id]
    if goal_id is not None:
        conditions.append(col(ActionItem.goal_id) == goal_id)
    if plan_id is not None:
        goals_of_plan = select(Goal.id).where(Goal.plan_id == plan_id)
        conditions.append(col(ActionItem.goal_id).in_(goals_of_plan))
    if owner_id is not None:
        conditions.append(col(ActionItem.owner_id) == owner_id)
    if statuses:
        conditions.append(col(ActionItem.status).in_(statuses))
    if sync_states:
        conditions.append(item_has_link_in(workspace_id, sync_states))
    page = paginate_values(session, ActionItem, conditions, limit=limit, offset=offset)
    links = item_links(session, workspace_id, [row["id"] for row in page.rows])
    return replace(page, rows=with_links(page.rows, links))


def update_item(
    session: Session,
    workspace_id: uuid.UUID,
    item_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    actor: str,
    settings: Settings,
) -> tuple[ActionItem, list[RuleWarning]]:
    """Apply a partial update; one event per changed field, one revision bump per request.
    The warnings are those the change made worse (``item_rules``): none when nothing changed."""
    item = get_item(session, workspace_id, item_id)
    before = {
        field: getattr(item, field)
        for field, value in changes.items()
        if getattr(item, field) != value
    }
    _check_references(session, workspace_id, {field: changes[field] for field in before})
    if not before:
        return item, []
    already = warnings_before_change(session, item, settings)
    now = utcnow()
    set_changed_fields(item, before, changes, now)
    session.add(item)
    session.flush()
    warnings = check_item(session, item, settings, before=already)
    record_changed_fields(session, item, before, actor=actor, at=now)
    session.flush()
    return item, warnings


def set_changed_fields(
    item: ActionItem, before: dict[str, Any], wanted: dict[str, Any], now: datetime
) -> None:
    """Set the fields that change (``before`` holds their old values) to their ``wanted`` values:
    one revision bump, the change times, and ``done_at`` when the status changes."""
    for field in before:
        setattr(item, field, wanted[field])
    item.revision += 1
    item.updated_at = item.last_activity_at = now
    if "status" in before:
        item.done_at = now if item.status == ItemStatus.done else None


def record_changed_fields(
    session: Session, item: ActionItem, before: dict[str, Any], *, actor: str, at: datetime
) -> None:
    """One event per changed field (``before`` holds the old values): a ``planning`` event for a
    planning field, a ``status`` event for the status."""
    for field, old in before.items():
        record_item_event(
            session,
            item,
            EventKind.planning if field in PLANNING_FIELDS else EventKind.status,
            actor=actor,
            field=field,
            from_value=old,
            to_value=getattr(item, field),
            at=at,
        )


def record_deleted_items(
    session: Session, items: Iterable[ActionItem], *, actor: str, reason: str | None = None
) -> None:
    """A ``deleted`` event per item (the row's id is kept in ``data``: the FK is nulled with it)."""
    at = utcnow()
    for item in items:
        data = {"title": item.title, "goal_id": str(item.goal_id)}
        if reason:
            data["reason"] = reason
        record_item_event(
            session, item, EventKind.deleted, actor=actor, from_value=item.title, data=data, at=at
        )
    session.flush()


def delete_item(
    session: Session, workspace_id: uuid.UUID, item_id: uuid.UUID, *, actor: str
) -> None:
    item = get_item(session, workspace_id, item_id)
    record_deleted_items(session, [item], actor=actor)
    session.delete(item)
    session.flush()


def list_item_events(
    session: Session, workspace_id: uuid.UUID, item_id: uuid.UUID, *, limit: int, offset: int
) -> PageSlice[ItemEvent]:
    item = get_item(session, workspace_id, item_id)
    statement = select(ItemEvent).where(
        ItemEvent.workspace_id == workspace_id, ItemEvent.item_id == item.id
    )
    return paginate(
        session, statement, [col(ItemEvent.at), col(ItemEvent.id)], limit=limit, offset=offset
    )
