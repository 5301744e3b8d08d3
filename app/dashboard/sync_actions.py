"""The dashboard's one write to the sync state: queue a dead link for another attempt."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app.models import ExternalLink


def queue_retry(db: Session, workspace_id: uuid.UUID, link_id: uuid.UUID) -> ExternalLink | None:
    """What ``POST /api/v1/sync/dead/{id}/retry`` does; None unless a dead link of this workspace.

    The web layer never calls a tracker: it clears the dead mark and the attempt count, and the
    engine's next pass pushes the link again from scratch.
    """
    link = db.exec(
        select(ExternalLink).where(
            ExternalLink.id == link_id,
            ExternalLink.workspace_id == workspace_id,
            col(ExternalLink.dead).is_(True),
        )
    ).first()
    if link is None:
        return None
    link.dead = False
    link.attempts = 0
    link.next_attempt_at = None
    db.add(link)
    return link
