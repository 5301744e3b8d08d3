"""Field types shared by the resources, rule warnings, and the page envelope of list endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints


def _without_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; rejecting it here keeps both backends answering alike.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_without_nul)
# Required text is stripped and may not be blank; optional text (descriptions) is kept as given.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), NoNul
]
Description = Annotated[str, StringConstraints(max_length=20_000), NoNul]
TrackerScope = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), NoNul
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(_without_nul),
]
# Strict: a boolean is not a number (pydantic would read false as 0); an integer still is.
Hours = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]


def left_unchanged() -> Any:
    """Default of a PATCH field that may be omitted (keeping its value) but not set to null."""
    return Field(default=None)


class WriteModel(BaseModel):
    """Request bodies: unknown fields are an error (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class PublicModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RuleWarning(BaseModel):
    """Something accepted but worth a second look (e.g. a due date after the plan's end)."""

    code: str
    message: str
    field: str | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, in a stable order (created_at, then id); ``total`` counts all matches."""

    items: list[T]
    total: int
    limit: int
    offset: int
