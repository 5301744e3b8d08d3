"""The ORM hooks planbridge keeps, all installed here and nowhere else.

``install_session_hooks`` is called explicitly by whatever opens sessions: ``create_app``, the
engine's context (``sync.context.EngineContext``), the command line and the test suite. Nothing is
registered at import time, so importing a module never changes what a flush or a commit does.

What a change sets off is otherwise an explicit call: ``app.services.item_history.record_event``
announces a status change as it records it (the ``item.status_changed`` notification and a goal
health check, ``app.services.status_changes``), and the worker loop publishes goal health changes
(``sync/goal_health.py``). Three hooks stay, each a safety net for a rule every writer must keep,
including writers that build rows by hand (tests with scripted histories, the demo seed):

- an item's history, after each flush (``keep_history_of_flush`` in
  ``app.services.item_history``): the goal hours ledger and ``last_event_at`` of the events the
  flush inserted, then the stored weekly reviews they (or a person's new weekly hours) make
  outdated, dropped in the same transaction so a review is never read stale. A hook, not a call
  in ``record_event``: it is batched over the whole flush (a few statements per flush, not per
  event), which the webhook and plan-import load depend on, and it sees rows added by hand too;
- an item's load columns, on each ORM write of an item (``keep_item_load``): they follow start,
  due date and estimate whichever code sets them;
- the webhook receiver's verifier cache
  (``app.services.webhook_verifiers.forget_changed_connection``): a connection
  updated or deleted in this process is no longer verified with its old secrets, whoever changed
  it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from app.models import ActionItem, Connection
from app.services.item_history import keep_history_of_flush, keep_item_load
from app.services.webhook_verifiers import forget_changed_connection

HOOKS: list[tuple[Any, str, Callable[..., None]]] = [
    (OrmSession, "after_flush", keep_history_of_flush),
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
