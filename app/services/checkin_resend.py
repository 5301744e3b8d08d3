"""Sending a person their check-in link again (the People page's admin button): a fresh link with
this week's check-in request, whatever was sent before.

The message is the weekly reminder's (``reminder_message``), queued under its own topic (the new
link's id) so the outbox's once-per-week key does not swallow it; it counts as a reminder on the
People page. Sending again is an admin's decision, so no cap or quiet hours apply.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from sqlmodel import Session

from app.services.checkin_links import checkin_url, issue_link
from app.services.messages.outbox import queue_message
from app.services.people import get_person
from app.services.reminders import reminder_message
from app.settings import Settings


def resend_checkin_link(
    session: Session,
    workspace_id: uuid.UUID,
    person_id: uuid.UUID,
    settings: Settings,
    now: datetime,
) -> int:
    """Queue a fresh link to the person; the channels it was queued on (0: unreachable)."""
    person = get_person(session, workspace_id, person_id)
    link, token = issue_link(session, workspace_id, person.id, settings, now)
    message = reminder_message(
        session,
        person,
        settings,
        now,
        checkin_url(settings, token),
        link.expires_at,
        follow_up=False,
    )
    message = dataclasses.replace(message, topic=f"resent:{link.id}")
    return len(queue_message(session, person, message, settings, now))
