"""Field types shared by the resources, rule warnings, and the page envelope of list endpoints."""

from __future__ import annotations

from collections.abc import Callable
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
    """Refuses NUL characters (or what ``check`` refuses), and says so in the schema (a pattern,
    unless one is given)."""

    def __init__(self, pattern: str, check: Callable[[str], str] = _without_nul) -> None:
        self.pattern = pattern
        self.check = check

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", self.pattern)
        return json_schema


NO_NUL_PATTERN = r"^[^\x00]*$"
# Unicode's White_Space: what is trimmed from the ends of text fields, and what "blank" means.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"
# The same characters as a regex class, each written as \uXXXX so that every regex engine reads
# it alike (``\s`` differs between them: Python's also takes \x1c-\x1f).
_WHITESPACE = "".join(f"\\u{ord(character):04x}" for character in WHITESPACE)


def _trimmed(value: str) -> str:
    return value.strip(WHITESPACE)


# Trims a text field's ends, after its bounds and pattern were checked on the value as sent: the
# schema states them of that value, so a value it refuses is refused (a name of 201 characters
# with a leading space is too long, an address with a space does not match), and one it allows
# is stored trimmed. Put last in the field's Annotated.
Trimmed = AfterValidator(_trimmed)
# Text that is not blank once stripped: at least one character that is not whitespace.
NOT_BLANK_PATTERN = rf"^[^\x00]*[^\x00{_WHITESPACE}][^\x00]*$"
NoNul = _WithoutNul(NO_NUL_PATTERN)


def _not_blank(value: str) -> str:
    if not value.strip(WHITESPACE):
        raise ValueError("must not be blank")
    return _without_nul(value)


# Required text: no NUL, and not only whitespace (what is left once trimmed is not empty).
NotBlank = _WithoutNul(NOT_BLANK_PATTERN, _not_blank)


def _a_number_not_text_or_boolean(value: Any) -> Any:
    # pydantic would read "8" as 8 and false as 0; the schema says integer.
    if isinstance(value, bool | str):
        raise ValueError("must be a number, not a string or a boolean")
    return value


NotTextOrBoolean = BeforeValidator(_a_number_not_text_or_boolean)
WholeNumber = Annotated[int, NotTextOrBoolean]
# Required text is stripped and may not be blank; optional text (descriptions) is kept as given.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), NotBlank, Trimmed]
Title = Annotated[str, StringConstraints(min_length=1, max_length=300), NotBlank, Trimmed]
Description = Annotated[str, StringConstraints(max_length=20_000), NoNul]
TrackerScope = Annotated[str, StringConstraints(min_length=1, max_length=300), NotBlank, Trimmed]
# What an address may not hold besides "@": control characters, whitespace as above, and U+FEFF.
# Not ``\s``, whose meaning differs between the regex dialects that read this pattern (the JSON
# Schema's ECMA-262 counts U+FEFF but not U+0085, pydantic's Rust engine the reverse, Python, which
# schema-based test generators use, also U+001C-U+001F): a value the schema allows is one the API
# takes, and the reverse.
_NOT_IN_ADDRESS = rf"@\x00-\x20\x7f-\x9f{_WHITESPACE}\ufeff"
EMAIL_PATTERN = rf"^[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+$"
Email = Annotated[
    str,
    StringConstraints(max_length=320, pattern=EMAIL_PATTERN),
    AfterValidator(_without_nul),
]

# A URL as the address check (app/security/urls.py) reads it: a scheme, a host (a name of RFC 3986
# characters, or an IPv6 address in brackets), a port up to 65535, then anything but NUL. So the
# pattern allows no credentials, no unclosed bracket and no port that is not a number.
_HEX = "[0-9A-Fa-f]{1,4}"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
_IPV6 = "|".join(
    (
        f"({_HEX}:){{7}}{_HEX}",
        f"({_HEX}:){{1,7}}:",
        f"({_HEX}:){{1,6}}:{_HEX}",
        *(f"({_HEX}:){{1,{6 - n}}}(:{_HEX}){{1,{n + 1}}}" for n in range(1, 5)),
        f"{_HEX}:(:{_HEX}){{1,6}}",
        f":((:{_HEX}){{1,7}}|:)",
        # An IPv4 address in the last 32 bits (::ffff:169.254.169.254): six groups, or fewer and ::
        f"({_HEX}:){{6}}{_IPV4}",
        f"::({_HEX}:){{0,5}}{_IPV4}",
        *(f"({_HEX}:){{0,{n}}}{_HEX}::({_HEX}:){{0,{4 - n}}}{_IPV4}" for n in range(5)),
    )
)
_HOST = rf"(\[({_IPV6})\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)"
_PORT = "(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?"
_REST = r"([/?#][^\x00]*)?$"
URL_PATTERN = rf"^[a-z][a-z0-9+.-]*://{_HOST}{_PORT}{_REST}"
HTTP_URL_PATTERN = rf"^https?://{_HOST}{_PORT}{_REST}"

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
