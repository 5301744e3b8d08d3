"""All tables, imported here so metadata (and Alembic) sees every one of them."""

from app.models.dashboard import DashboardSession, ShareLink
from app.models.execution import (
    CalendarFeedToken,
    CheckIn,
    Confidence,
    DeliveryState,
    FocusBlock,
    FrozenGoalReview,
    FrozenPlannedWeek,
    GoalHealthState,
    NotificationDelivery,
    Subscription,
)
from app.models.health_checks import GoalHealthCheck
from app.models.hours_ledger import GoalHoursChange
from app.models.nudges import Nudge, NudgeAudience, NudgeReason, NudgeState, PlanDigest
from app.models.people_loop import (
    CheckInLink,
    MessageChannel,
    MessageDelivery,
    MessageState,
    PersonChannels,
)
from app.models.plan_documents import PlanDocumentKey
from app.models.planning import (
    ActionItem,
    EventKind,
    EventSource,
    Goal,
    ItemEvent,
    ItemStatus,
    Person,
    Plan,
)
from app.models.reminders import Reminder, ReminderCadence, ReminderKind
from app.models.sync import (
    Connection,
    ConnectionScope,
    ConnectionWrite,
    ExternalLink,
    WebhookDelivery,
)
from app.models.teams import Team
from app.models.tenancy import ApiToken, Scope, Workspace
from app.models.worker_checks import WorkerCheck

__all__ = [
    "ActionItem",
    "ApiToken",
    "CalendarFeedToken",
    "CheckIn",
    "CheckInLink",
    "Confidence",
    "Connection",
    "ConnectionScope",
    "ConnectionWrite",
    "DashboardSession",
    "DeliveryState",
    "EventKind",
    "EventSource",
    "ExternalLink",
    "FocusBlock",
    "FrozenGoalReview",
    "FrozenPlannedWeek",
    "Goal",
    "GoalHealthCheck",
    "GoalHealthState",
    "GoalHoursChange",
    "ItemEvent",
    "ItemStatus",
    "MessageChannel",
    "MessageDelivery",
    "MessageState",
    "NotificationDelivery",
    "Nudge",
    "NudgeAudience",
    "NudgeReason",
    "NudgeState",
    "Person",
    "PersonChannels",
    "Plan",
    "PlanDigest",
    "PlanDocumentKey",
    "Reminder",
    "ReminderCadence",
    "ReminderKind",
    "Scope",
    "ShareLink",
    "Subscription",
    "Team",
    "WebhookDelivery",
    "WorkerCheck",
    "Workspace",
]
