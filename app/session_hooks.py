"""The ORM hooks planbridge keeps, all installed here and nowhere else.

``install_session_hooks`` is called explicitly by whatever opens sessions: ``create_app``, the
engine's context (``sync.context.EngineContext``), the command line and the test suite. Nothing is
registered at import time, so importing a module never changes what a flush or a commit does.

Each hook is a safety net for a rule that every writer must keep, including writers that build
rows by hand (tests with scripted histories, the demo seed):

- an item's history (``app.services.item_history``): after each flush, the goal hours ledger and
  ``last_event_at`` of the events it inserted, batched over the whole flush (one look-up of the
  stored histories per flush, not per event: the webhook and plan-import load depends on it); on
  each ORM write of an item, its load columns;
- stored weekly reviews (``app.services.reviews.drop_outdated_reviews``): after each flush, the
  stored weeks an event or a person's new weekly hours make outdated are dropped in the same
  transaction, so a review is never read stale;
- notifications: before each flush, ``item.status_changed`` for each new status event
  (``app.services.notifications``); before each commit, ``goal.health_changed`` for the goals
  those events touched (``app.services.health``), both in the writer's transaction, so the outbox
  and the change commit together;
- the webhook receiver's verifier cache (``sync.inbox.forget_changed_connection``): a connection
  updated or deleted in this process is no longer verified with its old secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session as ModelSession

from app.models import ActionItem, Connection
from app.services.health import publish_touched_goal_health
from app.services.item_history import keep_history_of_flush, keep_item_load
from app.services.notifications import enqueue_status_notifications, forget_touched_goals
from app.services.reviews import drop_outdated_reviews
from sync.inbox import forget_changed_connection

# In this order: the ledger and last_event_at before the reviews they may outdate.
HOOKS: list[tuple[Any, str, Callable[..., None]]] = [
    (OrmSession, "after_flush", keep_history_of_flush),
    (OrmSession, "after_flush", drop_outdated_reviews),
    (ModelSession, "before_flush", enqueue_status_notifications),
    (ModelSession, "before_commit", publish_touched_goal_health),
    (ModelSession, "after_rollback", forget_touched_goals),
    (ActionItem, "before_insert", keep_item_load),
    (ActionItem, "before_update", keep_item_load),
    (Connection, "after_update", forget_changed_connection),
    (Connection, "after_delete", forget_changed_connection),
]


def install_session_hooks() -> None:
    """Install every hook once per process (idempotent: each caller may call it)."""
    for target, name, hook in HOOKS:
        if not event.contains(target, name, hook):
            event.listen(target, name, hook)
