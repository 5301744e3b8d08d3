"""API tokens of the caller's workspace (admin only); a token is shown once, at creation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from app.models import Scope
from app.schemas.common import Page, PublicModel, Trimmed, WriteModel

TokenName = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$"), Trimmed]


class TokenCreate(WriteModel):
    name: TokenName = ""
    scope: Scope = Scope.write


class TokenPublic(PublicModel):
    id: uuid.UUID
    name: str
    scope: Scope
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str


class TokenPage(Page[TokenPublic]):
    pass
