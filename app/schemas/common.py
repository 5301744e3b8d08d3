"""Field types shared by the resources, rule warnings, and the page envelope of list endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema


def _without_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; rejecting it here keeps both backends answering alike.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class _WithoutNul:
    """Refuses NUL characters, and says so in the schema (a pattern, unless one is given)."""

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(_without_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", NO_NUL_PATTERN)
        return json_schema


NO_NUL_PATTERN = r"^[^\x00]*$"
NoNul = _WithoutNul()


def _a_number_not_text_or_boolean(value: Any) -> Any:
    # pydantic would read "8" as 8 and false as 0; the schema says integer.
    if isinstance(value, bool | str):
        raise ValueError("must be a number, not a string or a boolean")
    return value


NotTextOrBoolean = BeforeValidator(_a_number_not_text_or_boolean)
WholeNumber = Annotated[int, NotTextOrBoolean]
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
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$"),
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
