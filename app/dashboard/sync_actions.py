"""The dashboard's one write to the sync state: queue a dead link for another attempt."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from app.db import utcnow
from app.models import ExternalLink


def queue_retry(db: Session, workspace_id: uuid.UUID, link_id: uuid.UUID, *, actor: str) -> bool:
    """Make the engine pick the link up at its next pass; False when it is not in this workspace.

    The web layer never calls a tracker: it records the wish (due now, attempts reset, not dead) and
    the engine carries it out.
    """
    link = db.exec(
        select(ExternalLink).where(
            ExternalLink.id == link_id, ExternalLink.workspace_id == workspace_id
        )
    ).first()
    if link is None:
        return False
    link.dead = False
    link.attempts = 0
    link.next_attempt_at = utcnow()
    link.lease_until = None
    link.leased_by = None
    db.add(link)
    return True
