"""Where an action item or a goal went: its tracker object and how its sync stands."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.models.sync import SyncState
from app.schemas.common import PublicModel


class TrackerLink(PublicModel):
    id: uuid.UUID = Field(description="The link (retry a dead one at POST /sync/dead/{id}/retry)")
    connection_id: uuid.UUID
    connection_name: str
    scope: str | None = Field(description="Project, repository or board; null: the connection's")
    key: str | None = Field(description="The tracker's name for the object (MEM-3, ACME-12, #42)")
    url: str | None
    sync_state: SyncState
    last_synced_at: datetime | None
    last_error: str | None
