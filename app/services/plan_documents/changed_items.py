"""Change a plan document's existing items in one batch: what ``items.update_item`` does for one
item, done for all of them with the planning rules run once before and once after the changes and
the events flushed once.

One ``update_item`` per changed item read the item, ran every rule on it before and after (each
rule a query or two) and flushed its events with the history hooks: 177 SQL statements for 10
changed items. Here the items are read in one query, the rules run over all of them (the batch
forms of ``item_rules``), and the changes and events go out in two flushes. Each item's change is
set and recorded by ``update_item``'s own steps (``items.set_changed_fields``: one revision bump
per item; ``items.record_changed_fields``: one event per changed field), and the warnings are
those the document's changes made worse.

The rules see the document's changes together: the warnings before are of every item as it was,
those after of every item as the document leaves it (``update_item`` one by one saw each earlier
change in the next item's "before").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import InvalidField
from app.models import ActionItem
from app.schemas.common import RuleWarning
from app.services.item_rules import check_items, warnings_before_changes
from app.services.items import record_changed_fields, set_changed_fields
from app.settings import Settings


@dataclass
class _Change:
    item: ActionItem
    before: dict[str, Any]  # the fields that change, with their values before


def _read_changes(
    session: Session, workspace_id: uuid.UUID, changes: Sequence[tuple[uuid.UUID, dict[str, Any]]]
) -> list[_Change]:
    """Each item with the fields whose wanted value differs from the stored one."""
    ids = [item_id for item_id, _ in changes]
    rows = session.exec(
        select(ActionItem).where(
            col(ActionItem.workspace_id) == workspace_id, col(ActionItem.id).in_(ids)
        )
    ).all()
    by_id = {row.id: row for row in rows}
    result = []
    for item_id, wanted in changes:
        item = by_id[item_id]
        stored = {name: getattr(item, name) for name in wanted}
        before = {name: old for name, old in stored.items() if old != wanted[name]}
        result.append(_Change(item, before))
    return result


def update_changed_items(
    session: Session,
    workspace_id: uuid.UUID,
    changes: Sequence[tuple[uuid.UUID, dict[str, Any]]],
    *,
    actor: str,
    settings: Settings,
) -> list[list[RuleWarning] | InvalidField]:
    """Set each item's changed values (item id, wanted values of the workspace's goals, owners
    and connections); per item, the warnings its change made worse or the error of a rule it
    breaks (the caller then rolls back)."""
    read = _read_changes(session, workspace_id, changes)
    changing = [change for change in read if change.before]
    outcomes: dict[uuid.UUID, list[RuleWarning] | InvalidField] = {}
    if changing:
        items = [change.item for change in changing]
        already = warnings_before_changes(session, items, settings)
        now = utcnow()
        wanted_of = dict(changes)
        for change in changing:
            set_changed_fields(change.item, change.before, wanted_of[change.item.id], now)
        session.flush()
        after = check_items(session, items, settings, before=already)
        outcomes = {item.id: outcome for item, outcome in zip(items, after, strict=True)}
        for change in changing:
            record_changed_fields(session, change.item, change.before, actor=actor, at=now)
        session.flush()
    return [outcomes.get(item_id, []) for item_id, _ in changes]
