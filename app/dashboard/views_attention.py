"""What the Attention page shows: everything overdue, blocked, stale or failing to sync."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import ActionItem, ExternalLink, Goal, ItemStatus, Plan
from app.services.item_rules import OPEN_STATUSES
from app.settings import Settings


@dataclass
class AttentionEntry:
    item: ActionItem
    goal: Goal
    owner_name: str
    reasons: list[str]
    link: ExternalLink | None


@dataclass
class AttentionOverview:
    plan: Plan | None
    entries: list[AttentionEntry] = field(default_factory=list)


def _parse_plan(db: Session, workspace_id: uuid.UUID, plan_text: str | None) -> Plan | None:
    if not plan_text:
        return None
    try:
        plan_id = uuid.UUID(plan_text)
    except ValueError:
        return None
    plan = db.get(Plan, plan_id)
    return plan if plan is not None and plan.workspace_id == workspace_id else None


def attention_overview(
    db: Session, settings: Settings, workspace_id: uuid.UUID, plan_text: str | None
) -> AttentionOverview:
    from app.dashboard.views import people_names

    plan = _parse_plan(db, workspace_id, plan_text)
    query = (
        select(ActionItem, Goal)
        .join(Goal, col(Goal.id) == col(ActionItem.goal_id))
        .where(
            ActionItem.workspace_id == workspace_id, col(ActionItem.status).in_(list(OPEN_STATUSES))
        )
    )
    if plan is not None:
        query = query.where(Goal.plan_id == plan.id)
    rows = db.exec(query).all()
    links: dict[uuid.UUID, ExternalLink] = {}
    for linked in db.exec(
        select(ExternalLink).where(
            ExternalLink.workspace_id == workspace_id, col(ExternalLink.item_id).is_not(None)
        )
    ).all():
        if linked.item_id is not None:
            links[linked.item_id] = linked
    names = people_names(db, workspace_id)
    today = utcnow().date()
    stale_before = utcnow() - timedelta(days=settings.stale_after_days)
    entries = []
    for item, goal in rows:
        reasons = []
        link = links.get(item.id)
        if item.due_date < today:
            reasons.append(f"overdue since {item.due_date.isoformat()}")
        if item.status == ItemStatus.blocked:
            reasons.append("blocked")
        if item.last_activity_at < stale_before:
            reasons.append(f"stale: no activity for {settings.stale_after_days}+ days")
        if link is not None and link.dead:
            reasons.append("sync dead")
        elif link is not None and link.last_error:
            reasons.append("sync failing")
        if reasons:
            entries.append(AttentionEntry(item, goal, names.get(item.owner_id, "?"), reasons, link))
    entries.sort(key=lambda entry: (-len(entry.reasons), entry.item.due_date))
    return AttentionOverview(plan=plan, entries=entries)
