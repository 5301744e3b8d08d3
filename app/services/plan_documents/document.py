"""The plan document: its pydantic models, which validate a file and also publish its JSON Schema.

One structure for every format: YAML and JSON hold it as it is, the Markdown and CSV readers build
it from their lines and rows. Unknown keys are errors (a typo such as ``owenr`` must not be
silently ignored), dates are written ``YYYY-MM-DD``, people are named by email or by the ``key``
of a person declared under ``people``, connections by their name.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from app.models import ItemStatus
from app.schemas.common import Description, Email, Name, Title, TrackerScope

FORMAT_VERSION = "planbridge/plan@1"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def _iso_date(value: Any) -> Any:
    """A date object (YAML reads unquoted dates as dates) or text ``YYYY-MM-DD``; nothing else:
    ``12/02/2027``, ``2027-2-12`` or a number are refused, not guessed."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        return value.strip()
    raise ValueError("a date is written YYYY-MM-DD, e.g. 2027-02-12")


def _not_a_boolean(value: Any) -> Any:
    # Markdown and CSV give numbers as text ("6"), which is read; ``true`` is no number of hours.
    if isinstance(value, bool):
        raise ValueError("a number of hours is written as a number, e.g. 6 or 1.5")
    return value


DocumentHours = Annotated[float, BeforeValidator(_not_a_boolean), Field(allow_inf_nan=False)]

DocumentDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2027-02-12"]}),
]
Key = Annotated[
    str,
    Field(
        pattern=KEY_PATTERN,
        description="A name that stays the same across edits of the file, so re-applying it "
        "updates the object instead of creating another one (letters, digits, . _ -)",
    ),
]
PersonReference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=320,
        description="A person's email, or the key of a person declared under people",
    ),
]
ConnectionName = Annotated[
    str, Field(min_length=1, max_length=200, description="The name of a tracker connection")
]


class DocumentModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanSettings(DocumentModel):
    post_reviews_to_trackers: bool = Field(
        default=False,
        description="Post each week's review as a comment on every goal's tracker mirror",
    )


class PlanSection(DocumentModel):
    key: Key | None = None
    name: Name
    start_date: DocumentDate
    end_date: DocumentDate
    connection: ConnectionName | None = Field(
        default=None, description="Where items go when neither the item nor its goal names one"
    )
    scope: TrackerScope | None = Field(
        default=None, description="Default Jira project, GitHub owner/repo or Trello board/list"
    )
    settings: PlanSettings = Field(default_factory=PlanSettings)


class PersonDeclaration(DocumentModel):
    """A person the document refers to; matched by email (else by name), created when missing."""

    key: Key | None = None
    name: Name
    email: Email | None = None
    weekly_strategic_hours: DocumentHours | None = Field(default=None, ge=0, le=168)


class ItemEntry(DocumentModel):
    key: Key | None = None
    title: Title
    owner: PersonReference
    due_date: DocumentDate
    estimate_hours: DocumentHours = Field(
        gt=0, description="Hours of work; at most max_item_hours (16)"
    )
    start_date: DocumentDate | None = None
    status: ItemStatus | None = Field(
        default=None, description="Omit to leave an existing item's status to its tracker"
    )
    description: Description = ""
    connection: ConnectionName | None = None
    scope: TrackerScope | None = None


class GoalEntry(DocumentModel):
    key: Key | None = None
    title: Title
    owner: PersonReference
    target_date: DocumentDate | None = None
    description: Description = ""
    connection: ConnectionName | None = Field(
        default=None, description="Mirror the goal in this connection (epic, milestone, card)"
    )
    scope: TrackerScope | None = None
    items: list[ItemEntry] = Field(default_factory=list, max_length=5000)


class PlanDocument(DocumentModel):
    """A plan with its goals and their action items, as one reviewable file."""

    model_config = ConfigDict(
        extra="forbid",
        title="planbridge plan document",
        json_schema_extra={"$id": "https://planbridge.dev/schemas/plan-document.schema.json"},
    )

    format: str = Field(
        default=FORMAT_VERSION,
        pattern=r"^planbridge/plan@1$",
        description="The version of this format",
    )
    plan: PlanSection
    people: list[PersonDeclaration] = Field(default_factory=list, max_length=1000)
    goals: list[GoalEntry] = Field(default_factory=list, max_length=1000)


def plan_document_json_schema() -> dict[str, Any]:
    schema = PlanDocument.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def plan_document_json_schema_text() -> str:
    """The schema as committed in docs/plan-document.schema.json."""
    return json.dumps(plan_document_json_schema(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":  # python -m app.services.plan_documents.document > docs/plan-...json
    print(plan_document_json_schema_text(), end="")
