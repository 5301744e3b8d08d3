"""The stable keys a plan document gives its plan, goals and items (``key:`` in the file).

A key is the document's name for an object: re-applying a changed file finds the object by its
key and updates it instead of creating a second one. Keys of goals and items are unique within
their plan; a plan's own key within the workspace (checked by the import, not by an index). The
foreign keys cascade, so a key disappears with its object however the object is deleted.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, workspace_field


class PlanDocumentKey(SQLModel, table=True):
    __tablename__ = "plan_document_key"
    __table_args__ = (
        UniqueConstraint("plan_id", "kind", "key", name="uq_plan_document_key_plan_kind_key"),
    )

    id: uuid.UUID = id_field()
    workspace_id: uuid.UUID = workspace_field()
    plan_id: uuid.UUID = Field(foreign_key="plan.id", ondelete="CASCADE")
    # "plan", "goal" or "item": which of the three ids below the key names.
    kind: str = Field(max_length=8)
    key: str = Field(max_length=200)
    goal_id: uuid.UUID | None = Field(default=None, foreign_key="goal.id", ondelete="CASCADE")
    item_id: uuid.UUID | None = Field(
        default=None, foreign_key="action_item.id", ondelete="CASCADE"
    )
    created_at: datetime = created_field()
