"""What a parsed JQL clause checks against one issue (a row of field values), as Jira matches.

Negative operators (``!=``, ``NOT IN``, ``!~``) never match an empty field, as Jira's operator
reference says; ``~`` matches words (a trailing ``*`` matches a prefix).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

Row = dict[str, Any]
Predicate = Callable[[Row], bool]
ORDERING = ("=", "!=", "<", ">", "<=", ">=")


class JqlError(ValueError):
    """A query Jira would refuse with 400."""


def held_values(row: Row, column: str) -> list[Any]:
    held = row[column]
    if held is None:
        return []
    values = list(held) if isinstance(held, list | tuple | set) else [held]
    if column == "assignee":
        return [identity for user in values for identity in (user.account_id, user.name)]
    return values


def emptiness(column: str, empty: bool) -> Predicate:
    return lambda row: (not held_values(row, column)) == empty


def membership(column: str, values: list[Any], negate: bool) -> Predicate:
    wanted = {str(value).casefold() for value in values if value is not None}
    wants_empty = any(value is None for value in values)

    def matches(row: Row) -> bool:
        held = held_values(row, column)
        if column == "assignee" and row.get("assignee_is_current_user"):
            held = [*held, "currentUser()"]
        if not held:
            # Negative operators never match an empty field (Jira's operator reference).
            return wants_empty and not negate
        found = any(str(value).casefold() in wanted for value in held)
        return found != negate

    return matches


def contains(column: str, text: str, negate: bool) -> Predicate:
    """``~``: every word of the query appears in the field (a trailing ``*`` matches a prefix)."""
    terms = [term.casefold() for term in re.findall(r"[\w*]+", text)]
    if not terms:
        raise JqlError(f"The field '{column}' does not support searching for an empty string.")

    def matches(row: Row) -> bool:
        words = re.findall(r"\w+", str(row[column] or "").casefold())
        found = all(any(word_matches(word, term) for word in words) for term in terms)
        return found != negate

    return matches


def compare_dates(column: str, operator: str, moment: Any) -> Predicate:
    if operator not in ORDERING:
        raise JqlError(f"The operator '{operator}' is not supported by the '{column}' field.")
    if moment is None:
        return emptiness(column, operator == "=")
    compare: Callable[[datetime], bool] = {
        ">=": lambda held: held >= moment,
        ">": lambda held: held > moment,
        "<=": lambda held: held <= moment,
        "<": lambda held: held < moment,
        "=": lambda held: held == moment,
        "!=": lambda held: held != moment,
    }[operator]

    def matches(row: Row) -> bool:
        held = row[column]
        if held is None:
            return False
        if isinstance(held, str):  # a due date: the start of that day in the user's zone
            held = datetime.combine(date.fromisoformat(held), time(), moment.tzinfo)
        return compare(held)

    return matches


def word_matches(word: str, term: str) -> bool:
    return word.startswith(term[:-1]) if term.endswith("*") else word == term
