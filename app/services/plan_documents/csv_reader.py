"""Read a plan from CSV as a spreadsheet exports it: one row per item, with goal columns.

Rows of one goal share its ``goal_key`` (or, without keys, its title); the goal's other columns
and the plan's are read from the first row that fills them, and a later row that fills them
differently is an error at that row. A row with an empty item title is a goal without items.
Empty cells are absent values. Comma, semicolon and tab separated files are all read.
"""

from __future__ import annotations

import csv
import difflib
import io
from typing import Any

from app.services.plan_documents.csv_columns import (
    ALL_COLUMNS,
    GOAL_COLUMNS,
    ITEM_COLUMNS,
    PLAN_COLUMNS,
    REQUIRED_COLUMNS,
)
from app.services.plan_documents.limits import MAX_DOCUMENT_BYTES
from app.services.plan_documents.places import (
    DocumentInvalid,
    Path,
    Place,
    Places,
    Problem,
    problem_at,
)

MAX_ROWS = 20_000
# Descriptions keep their spaces and line ends; every other cell is stripped.
_KEPT_AS_WRITTEN = frozenset({"description", "goal_description"})


def _problem(row: int, column: str | None, code: str, message: str) -> Problem:
    places = Places({(): Place(row=row, column_name=column)})
    return problem_at(places, (), code, message)


def _delimiter(header: str) -> str:
    return max(
        ",;\t", key=lambda sep: sum(name.strip() in ALL_COLUMNS for name in header.split(sep))
    )


def _header_problems(header: list[str]) -> list[Problem]:
    problems = []
    for name in header:
        if name not in ALL_COLUMNS:
            guess = difflib.get_close_matches(name, ALL_COLUMNS, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            problems.append(_problem(1, name, "unknown_column", f"Unknown column {name!r}{hint}."))
    for name in REQUIRED_COLUMNS:
        if name not in header:
            problems.append(_problem(1, None, "missing_column", f"The column {name!r} is missing."))
    if len(set(header)) != len(header):
        problems.append(_problem(1, None, "duplicate_column", "A column name appears twice."))
    return problems


class _Rows:
    def __init__(self) -> None:
        self.places = Places()
        self.problems: list[Problem] = []
        self.plan: dict[str, Any] = {}
        self.goals: list[dict[str, Any]] = []
        self.goal_index: dict[str, int] = {}

    def _fill(
        self,
        target: dict[str, Any],
        path: Path,
        values: dict[str, str],
        columns: dict[str, str],
        number: int,
    ) -> None:
        for column, name in columns.items():
            value = values.get(column, "")
            if value == "":
                continue
            if name in target and target[name] != value:
                self.problems.append(
                    _problem(
                        number,
                        column,
                        "conflicting_value",
                        f"{column} is {value!r} here but {target[name]!r} on an earlier row.",
                    )
                )
                continue
            if name not in target:
                target[name] = value
                self.places.record((*path, name), Place(row=number, column_name=column))

    def row(self, values: dict[str, str], number: int) -> None:
        plan_values = {c: v for c, v in values.items() if c != "plan_post_reviews_to_trackers"}
        self._fill(self.plan, ("plan",), plan_values, PLAN_COLUMNS, number)
        reviews = values.get("plan_post_reviews_to_trackers", "")
        if reviews:
            self.plan.setdefault("settings", {"post_reviews_to_trackers": reviews})
        identity = values.get("goal_key") or values.get("goal", "")
        if identity not in self.goal_index:
            self.goal_index[identity] = len(self.goals)
            self.goals.append({"items": []})
            self.places.record(("goals", len(self.goals) - 1), Place(row=number))
        g = self.goal_index[identity]
        goal = self.goals[g]
        self._fill(goal, ("goals", g), values, GOAL_COLUMNS, number)
        if not any(values.get(column) for column in ITEM_COLUMNS):
            return
        path: Path = ("goals", g, "items", len(goal["items"]))
        self.places.record(path, Place(row=number))
        item: dict[str, Any] = {}
        self._fill(item, path, values, ITEM_COLUMNS, number)
        if isinstance(item.get("estimate_hours"), str):
            item["estimate_hours"] = item["estimate_hours"].removesuffix("h").strip()
        goal["items"].append(item)


def read_csv(content: bytes | str) -> tuple[Any, Places]:
    raw = content.encode() if isinstance(content, str) else content
    if len(raw) > MAX_DOCUMENT_BYTES:
        message = f"The file is {len(raw):,} bytes; the limit is {MAX_DOCUMENT_BYTES:,} bytes."
        raise DocumentInvalid([_problem(1, None, "too_large", message)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentInvalid(
            [_problem(1, None, "not_utf8", "The file is not UTF-8 text.")]
        ) from exc
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, delimiter=_delimiter(text.split("\n", 1)[0]))
    try:
        header = [name.strip() for name in next(reader, [])]
        problems = _header_problems(header)
        if problems:
            raise DocumentInvalid(problems)
        rows = _Rows()
        for number, cells in enumerate(reader, start=2):
            if number > MAX_ROWS:
                raise DocumentInvalid(
                    [_problem(number, None, "too_many_rows", f"More than {MAX_ROWS:,} rows.")]
                )
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                rows.problems.append(
                    _problem(
                        number,
                        None,
                        "row_length",
                        f"The row has {len(cells)} cells; the header has {len(header)}.",
                    )
                )
                continue
            values = {
                name: cell if name in _KEPT_AS_WRITTEN else cell.strip()
                for name, cell in zip(header, cells, strict=True)
            }
            rows.row(values, number)
    except csv.Error as exc:
        raise DocumentInvalid(
            [_problem(reader.line_num, None, "csv_syntax", f"The file is not valid CSV: {exc}.")]
        ) from exc
    if rows.problems:
        raise DocumentInvalid(rows.problems)
    return {"plan": rows.plan, "goals": rows.goals}, rows.places
