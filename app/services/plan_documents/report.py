"""The answer of an apply or a dry run: the difference object by object, warnings, errors."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from app.services.plan_documents.places import Problem

Action = Literal["create", "update", "unchanged", "delete", "not_in_document"]
ObjectKind = Literal["plan", "person", "goal", "item"]


class FieldChange(BaseModel):
    field: str
    old: str | None
    new: str | None


class Change(BaseModel):
    """One object of the document or of the plan, and what the apply does to it."""

    action: Action
    kind: ObjectKind
    title: str
    key: str | None = None
    id: uuid.UUID | None = Field(default=None, description="The object's id, if it exists yet")
    path: str | None = Field(default=None, description="JSON path in the document")
    line: int | None = None
    row: int | None = None
    fields: list[FieldChange] = Field(default_factory=list)


class ChangeSummary(BaseModel):
    create: int = 0
    update: int = 0
    unchanged: int = 0
    delete: int = 0
    not_in_document: int = 0


class PlanImportReport(BaseModel):
    dry_run: bool
    applied: bool = Field(description="True when the changes were committed")
    changed: bool = Field(description="False when the workspace already matches the document")
    message: str
    plan_id: uuid.UUID | None = Field(
        default=None, description="The plan applied to (None in a dry run that would create it)"
    )
    summary: ChangeSummary
    changes: list[Change]
    warnings: list[Problem]
    errors: list[Problem]
