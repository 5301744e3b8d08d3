"""What the plan, goal and share pages show, gathered from the services the API uses.

Figures (progress, health, forecast) come from the same service functions as the API answers, so the
dashboard never computes a number a second way; this module only joins them with names and links.
Every query is scoped by the viewer's workspace.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from app.dashboard.charts import BurnupPoint, goal_burnup
from app.db import utcnow
from app.models import ActionItem, Connection, ExternalLink, Goal, Person, Plan
from app.models.execution import CheckIn
from app.models.sync import SyncState
from app.services.health import GoalHealth, goal_health, plan_health
from app.services.progress import GoalProgress, PlanProgress, goal_progress, plan_progress
from app.services.tracker_links import sync_state_of
from app.settings import Settings


@dataclass
class GoalRow:
    goal: Goal
    owner_name: str
    progress: GoalProgress | None
    health_figures: GoalHealth | None

    @property
    def health(self) -> str:
        return str(self.health_figures.health) if self.health_figures else "unknown"

    @property
    def health_reasons(self) -> list[str]:
        return (
            [reason.message for reason in self.health_figures.reasons]
            if self.health_figures
            else []
        )

    @property
    def forecast_date(self) -> date | None:
        return self.health_figures.forecast_finish if self.health_figures else None

    @property
    def deadline(self) -> date | None:
        return self.health_figures.deadline if self.health_figures else self.goal.target_date

    @property
    def forecast_late(self) -> bool:
        forecast, deadline = self.forecast_date, self.deadline
        return forecast is not None and deadline is not None and forecast > deadline

    @property
    def confidence(self) -> str | None:
        return self.health_figures.confidence if self.health_figures else None

    @property
    def confidence_disagrees(self) -> bool:
        return bool(self.health_figures and self.health_figures.disagreement)


@dataclass
class PlanOverview:
    plan: Plan
    progress: PlanProgress
    goals: list[GoalRow]


@dataclass
class ItemRow:
    item: ActionItem
    owner_name: str
    link: ExternalLink | None
    connection_name: str | None
    # The link's state as the API shows it (``sync_state_of``); None without a link.
    link_state: SyncState | None = None

    @property
    def sync_state(self) -> str:
        """A word for the item's sync state, shown as text (never only as a colour)."""
        if self.link is None or self.link_state is None:
            return "not linked"
        if self.link_state is SyncState.pending and self.link.last_error:
            # Dead mark and attempts cleared by a retry; the error stays until the next push.
            return "retry queued"
        return self.link_state.value


@dataclass
class CheckInRow:
    iso_week: str
    owner_name: str
    confidence: str
    needs_help: bool
    note: str
    blockers: str


@dataclass
class GoalDetail:
    goal: Goal
    plan: Plan
    owner_name: str
    row: GoalRow
    items: list[ItemRow]
    burnup: list[BurnupPoint]
    checkins: list[CheckInRow]


def people_names(db: Session, workspace_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = db.exec(select(Person.id, Person.name).where(Person.workspace_id == workspace_id)).all()
    return {person_id: name for person_id, name in rows}


def list_plans(db: Session, workspace_id: uuid.UUID) -> list[Plan]:
    return list(
        db.exec(
            select(Plan)
            .where(Plan.workspace_id == workspace_id)
            .order_by(col(Plan.start_date).desc(), col(Plan.name))
        ).all()
    )


def find_plan(db: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID) -> Plan | None:
    plan = db.get(Plan, plan_id)
    return plan if plan is not None and plan.workspace_id == workspace_id else None


def find_goal(db: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID) -> Goal | None:
    goal = db.get(Goal, goal_id)
    return goal if goal is not None and goal.workspace_id == workspace_id else None


def plan_overview(
    db: Session,
    settings: Settings,
    workspace_id: uuid.UUID,
    plan: Plan,
    names: dict[uuid.UUID, str],
) -> PlanOverview:
    now = utcnow()
    progress = plan_progress(db, workspace_id, plan.id, now=now)
    by_goal = {entry.goal_id: entry for entry in progress.goals}
    health = {
        entry.goal_id: entry
        for entry in plan_health(db, workspace_id, plan.id, settings, now=now).goals
    }
    goals = db.exec(
        select(Goal)
        .where(Goal.workspace_id == workspace_id, Goal.plan_id == plan.id)
        .order_by(col(Goal.created_at), col(Goal.id))
    ).all()
    rows = [
        GoalRow(
            goal=goal,
            owner_name=names.get(goal.owner_id, "?"),
            progress=by_goal.get(goal.id),
            health_figures=health.get(goal.id),
        )
        for goal in goals
    ]
    return PlanOverview(plan=plan, progress=progress, goals=rows)


def all_plan_overviews(
    db: Session, settings: Settings, workspace_id: uuid.UUID
) -> list[PlanOverview]:
    names = people_names(db, workspace_id)
    return [
        plan_overview(db, settings, workspace_id, plan, names)
        for plan in list_plans(db, workspace_id)
    ]


def goal_items(
    db: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID, names: dict[uuid.UUID, str]
) -> list[ItemRow]:
    items = db.exec(
        select(ActionItem)
        .where(ActionItem.workspace_id == workspace_id, ActionItem.goal_id == goal_id)
        .order_by(col(ActionItem.due_date), col(ActionItem.title))
    ).all()
    item_ids = [item.id for item in items]
    links: dict[uuid.UUID, tuple[ExternalLink, SyncState]] = {}
    if item_ids:
        for linked, state in db.exec(
            select(ExternalLink, sync_state_of(col(ActionItem.revision)))
            .join(ActionItem, col(ActionItem.id) == col(ExternalLink.item_id))
            .where(
                ExternalLink.workspace_id == workspace_id, col(ExternalLink.item_id).in_(item_ids)
            )
        ).all():
            # A link the item moved away from names a closed-out object: show the live one.
            if linked.item_id is not None and linked.moved_at is None:
                links[linked.item_id] = (linked, SyncState(state))
    connections = dict(
        db.exec(
            select(Connection.id, Connection.name).where(Connection.workspace_id == workspace_id)
        ).all()
    )
    rows = []
    for item in items:
        link, link_state = links.get(item.id, (None, None))
        rows.append(
            ItemRow(
                item=item,
                owner_name=names.get(item.owner_id, "?"),
                link=link,
                connection_name=connections.get(link.connection_id) if link else None,
                link_state=link_state,
            )
        )
    return rows


def goal_detail(
    db: Session,
    settings: Settings,
    workspace_id: uuid.UUID,
    goal: Goal,
    now: datetime | None = None,
) -> GoalDetail:
    now = now or utcnow()
    names = people_names(db, workspace_id)
    plan = db.get(Plan, goal.plan_id)
    assert plan is not None  # the foreign key guarantees it
    row = GoalRow(
        goal=goal,
        owner_name=names.get(goal.owner_id, "?"),
        progress=goal_progress(db, workspace_id, goal.id, now=now),
        health_figures=goal_health(db, workspace_id, goal.id, settings, now=now),
    )
    return GoalDetail(
        goal=goal,
        plan=plan,
        owner_name=names.get(goal.owner_id, "?"),
        row=row,
        items=goal_items(db, workspace_id, goal.id, names),
        burnup=goal_burnup(db, workspace_id, goal.id, now),
        checkins=goal_checkins(db, workspace_id, goal.id, names),
    )


def goal_checkins(
    db: Session, workspace_id: uuid.UUID, goal_id: uuid.UUID, names: dict[uuid.UUID, str]
) -> list[CheckInRow]:
    """The current check-ins of the goal (replaced ones are history), newest week first."""
    rows = db.exec(
        select(CheckIn)
        .where(
            CheckIn.workspace_id == workspace_id,
            CheckIn.goal_id == goal_id,
            col(CheckIn.replaced_at).is_(None),
        )
        .order_by(col(CheckIn.iso_week).desc(), col(CheckIn.created_at).desc())
        .limit(20)
    ).all()
    return [
        CheckInRow(
            iso_week=row.iso_week,
            owner_name=names.get(row.owner_id, "?"),
            confidence=str(row.confidence),
            needs_help=row.needs_help,
            note=row.note,
            blockers=row.blockers,
        )
        for row in rows
    ]
