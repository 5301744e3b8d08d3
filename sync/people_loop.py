"""The worker's thread for messages to people: reminders that are due, then the message outbox.

It runs beside the engine's threads, not in their steps, so a mail server that is down, refuses or
is slow (each SMTP call times out after 10 s; a server found down is skipped for the rest of the
pass) holds only this thread: pushes, pulls and webhook deliveries go on. Nothing is lost while
it waits: a reminder is decided once (its ``reminder`` row) and its messages stay queued in the
outbox with their retries and back-off, withdrawn if their week ends first
(app/services/reminders.py).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlmodel import Session

from app.services.messages.outbox import send_due_messages
from app.services.reminders import remind_due, withdraw_stale_messages
from sync.context import EngineContext

log = logging.getLogger("planbridge.sync")
# How often due reminders are looked for: a reminder goes out at most this late after its minute.
REMINDER_CHECK_INTERVAL = timedelta(seconds=20)
# Reminders decided per step: their messages go out before the next ones are drafted, so the
# first of a wave of hundreds are not held back by the drafting of the last.
REMIND_BATCH = 50
# Messages attempted per outbox call; the loop calls again at once while there are more.
SEND_BATCH = 50


class PeopleLoop:
    def __init__(self, context: EngineContext) -> None:
        self.context = context
        self._next_reminder_check: datetime | None = None

    def step(self) -> int:
        """Decide the reminders due (now and then), then send due messages; messages attempted."""
        now = self.context.clock.now()
        engine, settings = self.context.engine, self.context.settings
        if self._next_reminder_check is None or now >= self._next_reminder_check:
            self._next_reminder_check = now + REMINDER_CHECK_INTERVAL
            reminded = remind_due(engine, settings, now, limit=REMIND_BATCH)
            if len(reminded) == REMIND_BATCH:
                # More are due: send these first, then decide the next ones at once.
                self._next_reminder_check = now
            if reminded:
                log.info("queued %d check-in reminder(s)", len(reminded))
            with Session(engine) as session:
                withdraw_stale_messages(session, now)
                session.commit()
        return send_due_messages(engine, now, settings, limit=SEND_BATCH)

    def run(self, stop: threading.Event, idle_seconds: float) -> None:
        """Steps until ``stop`` is set; waits ``idle_seconds`` when nothing was sent."""
        try:
            while not stop.is_set():
                try:
                    attempted = self.step()
                except Exception:  # e.g. the database restarting: log, wait, go on
                    log.exception("people loop step failed in %s", self.context.worker_id)
                    attempted = 0
                if attempted < SEND_BATCH:
                    stop.wait(idle_seconds)
        finally:
            self.context.close()
