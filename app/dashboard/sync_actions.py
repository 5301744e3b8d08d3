"""The dashboard's one write to the sync state: queue a dead link for another attempt."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.errors import NotFound
from app.models import ExternalLink
from app.services.sync_status import retry_dead_link


def queue_retry(db: Session, workspace_id: uuid.UUID, link_id: uuid.UUID) -> ExternalLink | None:
    """What ``POST /api/v1/sync/dead/{id}/retry`` does; None unless a dead link of this workspace.

    The web layer never calls a tracker: the service clears the dead mark and the attempt count,
    and the engine's next pass pushes the link again from scratch.
    """
    try:
        return retry_dead_link(db, workspace_id, link_id)
    except NotFound:
        return None
