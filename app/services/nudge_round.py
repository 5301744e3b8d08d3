"""One round of nudges for the worker: notice slipping items, escalate unchanged ones, release
the due ones to the outbox, in one transaction.

The worker runs a round once a minute per database, by whichever engine takes the turn first
(sync/check_turns.py). On PostgreSQL one worker at a time runs a round besides (a transaction
advisory lock; the others skip to their next check), so a round that outlasts the minute does not
overlap the next and the weekly cap counts every nudge queued before it; the unique key of
``nudge`` keeps "once per item and reason" whatever runs (SQLite has one writer anyway).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.services.nudge_release import release_due_nudges
from app.services.nudges import escalate_unchanged_items, notice_slipping_items
from app.settings import Settings

log = logging.getLogger(__name__)
# Any constant: the PostgreSQL advisory lock of a nudge round.
NUDGE_LOCK_KEY = 0x706C616E_6E756467


def _locked(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True
    locked = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": NUDGE_LOCK_KEY}
    ).scalar()
    return bool(locked)


def run_nudge_round(engine: Engine, settings: Settings, now: datetime) -> int:
    """Decide and release nudges as of ``now``; the number of nudges decided or looked at."""
    with Session(engine) as session:
        if not _locked(session):
            return 0
        noticed = notice_slipping_items(session, settings, now)
        escalated = escalate_unchanged_items(session, settings, now)
        released = release_due_nudges(session, settings, now)
        session.commit()
    if noticed or escalated:
        log.info("decided %d nudge(s) and %d escalation(s)", noticed, escalated)
    return noticed + escalated + released
