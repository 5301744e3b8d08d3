"""Read-only share links to one plan: created and revoked by a signed-in writer, kept as a hash."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.dashboard.auth import hash_secret
from app.db import utcnow
from app.models import Plan, ShareLink

SHARE_PREFIX = "pbs_"


@dataclass(frozen=True)
class IssuedShareLink:
    token: str
    record: ShareLink


def create_share_link(
    db: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID, *, actor: str, label: str = ""
) -> IssuedShareLink | None:
    """A new link for a plan of this workspace; None when the plan is not one of its plans."""
    plan = db.exec(
        select(Plan).where(Plan.id == plan_id, Plan.workspace_id == workspace_id)
    ).first()
    if plan is None:
        return None
    token = SHARE_PREFIX + secrets.token_urlsafe(32)
    record = ShareLink(
        workspace_id=workspace_id,
        plan_id=plan_id,
        token_hash=hash_secret(token),
        prefix=token[:10],
        label=label.strip()[:200],
        created_by=actor,
    )
    db.add(record)
    db.flush()
    return IssuedShareLink(token=token, record=record)


def revoke_share_link(db: Session, workspace_id: uuid.UUID, link_id: uuid.UUID) -> ShareLink | None:
    record = db.exec(
        select(ShareLink).where(ShareLink.id == link_id, ShareLink.workspace_id == workspace_id)
    ).first()
    if record is None:
        return None
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        db.add(record)
    return record


def list_share_links(db: Session, workspace_id: uuid.UUID, plan_id: uuid.UUID) -> list[ShareLink]:
    return list(
        db.exec(
            select(ShareLink)
            .where(
                ShareLink.workspace_id == workspace_id,
                ShareLink.plan_id == plan_id,
                col(ShareLink.revoked_at).is_(None),
            )
            .order_by(col(ShareLink.created_at))
        ).all()
    )


def find_shared_plan(db: Session, token: str) -> ShareLink | None:
    """The active link for a share token, or None (unknown, revoked or malformed alike)."""
    if not token.startswith(SHARE_PREFIX) or len(token) > 100:
        return None
    record = db.exec(select(ShareLink).where(ShareLink.token_hash == hash_secret(token))).first()
    if record is None or record.revoked_at is not None:
        return None
    return record
