"""Where a value sits in the file a document was read from, so every problem can name its place.

A reader records the place of each value by its path in the document (``("goals", 0, "items",
2, "owner")``); a problem about a path is reported at the nearest recorded place on that path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

Path = tuple[str | int, ...]


@dataclass(slots=True)
class Place:
    """A line and column (YAML, Markdown), a row and column name (CSV), or neither (JSON)."""

    line: int | None = None
    column: int | None = None
    row: int | None = None
    column_name: str | None = None

    def describe(self) -> str:
        if self.row is not None:
            return f"row {self.row}" + (f", column {self.column_name}" if self.column_name else "")
        if self.line is not None:
            return f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return ""


def json_path(path: Path) -> str:
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


@dataclass
class Places:
    """The recorded places of one read document.

    A reader that records only some places up front (YAML: where each mapping and list starts)
    gives ``find_all``, which finds every place; it is called once, when a path that was not
    recorded is first asked for."""

    by_path: dict[Path, Place] = field(default_factory=dict)
    find_all: Callable[[], dict[Path, Place]] | None = None

    def record(self, path: Path, place: Place) -> None:
        self.by_path.setdefault(path, place)

    def of(self, path: Path) -> Place:
        if self.find_all is not None and path not in self.by_path:
            self.by_path, self.find_all = self.find_all(), None
        for end in range(len(path), -1, -1):
            place = self.by_path.get(path[:end])
            if place is not None:
                return place
        return Place()


class Problem(BaseModel):
    """An error or a warning about the document, at its place in the file."""

    severity: Literal["error", "warning"]
    code: str
    message: str
    path: str  # JSON path in the document, e.g. $.goals[0].items[2].owner
    loc: list[str | int]  # the same path as a list, as in a 422's errors[].loc
    line: int | None = None
    column: int | None = None
    row: int | None = None
    csv_column: str | None = None

    @property
    def where(self) -> str:
        place = Place(self.line, self.column, self.row, self.csv_column).describe()
        return f"{place} ({self.path})" if place else self.path


def problem_at(
    places: Places,
    path: Path,
    code: str,
    message: str,
    *,
    severity: Literal["error", "warning"] = "error",
) -> Problem:
    place = places.of(path)
    return Problem(
        severity=severity,
        code=code,
        message=message,
        path=json_path(path),
        loc=list(path),
        line=place.line,
        column=place.column,
        row=place.row,
        csv_column=place.column_name,
    )


class DocumentInvalid(Exception):
    """The document could not be read or breaks its format; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.where}: {p.message}" for p in problems[:3]))
        self.problems = problems
