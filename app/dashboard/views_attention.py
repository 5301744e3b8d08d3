"""What the Attention page shows: everything overdue, blocked, stale or failing to sync.

The list per plan is the API's (``GET /plans/{id}/attention``, same service, same order); the page
adds names, and a second list of pushes that fail but are not dead yet (the connection health's
``failing_pushes``), since those need a look before the engine gives up on them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.dashboard.views import find_plan, list_plans, people_names
from app.models import ActionItem, ExternalLink, Goal, Plan
from app.services.accountability import AttentionItem, attention
from app.settings import Settings

REASON_LABELS = {
    "overdue": "overdue",
    "blocked": "blocked",
    "dead_sync": "sync dead",
    "stale": "stale",
    "no_tracker_link": "no tracker link",
}


@dataclass
class AttentionEntry:
    entry: AttentionItem
    plan: Plan
    goal_title: str
    owner_name: str

    @property
    def reason_text(self) -> str:
        return ", ".join(REASON_LABELS.get(reason, reason) for reason in self.entry.reasons)


@dataclass
class FailingPush:
    link: ExternalLink
    item: ActionItem


@dataclass
class AttentionOverview:
    plan: Plan | None
    entries: list[AttentionEntry] = field(default_factory=list)
    failing: list[FailingPush] = field(default_factory=list)


def _chosen_plan(db: Session, workspace_id: uuid.UUID, plan_text: str | None) -> Plan | None:
    if not plan_text:
        return None
    try:
        return find_plan(db, workspace_id, uuid.UUID(plan_text))
    except ValueError:
        return None


def attention_overview(
    db: Session, settings: Settings, workspace_id: uuid.UUID, plan_text: str | None
) -> AttentionOverview:
    chosen = _chosen_plan(db, workspace_id, plan_text)
    plans = [chosen] if chosen is not None else list_plans(db, workspace_id)
    names = people_names(db, workspace_id)
    titles = dict(
        db.exec(select(Goal.id, Goal.title).where(Goal.workspace_id == workspace_id)).all()
    )
    entries = [
        AttentionEntry(
            entry=entry,
            plan=plan,
            goal_title=titles.get(entry.goal_id, "?"),
            owner_name=names.get(entry.owner_id, "?"),
        )
        for plan in plans
        for entry in attention(db, workspace_id, plan.id, settings).items
    ]
    failing_query = (
        select(ExternalLink, ActionItem)
        .join(ActionItem, col(ActionItem.id) == col(ExternalLink.item_id))
        .join(Goal, col(Goal.id) == col(ActionItem.goal_id))
        .where(
            ExternalLink.workspace_id == workspace_id,
            col(ExternalLink.dead).is_(False),
            col(ExternalLink.attempts) > 0,
            col(Goal.plan_id).in_([plan.id for plan in plans]),
        )
        .order_by(col(ExternalLink.attempts).desc())
    )
    failing = [FailingPush(link, item) for link, item in db.exec(failing_query).all()]
    return AttentionOverview(plan=chosen, entries=entries, failing=failing)
