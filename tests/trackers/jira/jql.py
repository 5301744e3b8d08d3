"""The JQL subset the emulator understands: what the connector sends, parsed as Jira would.

Clauses joined by AND: ``project``, ``labels``, ``key``, ``issuetype`` with ``=``, ``!=``, ``in``;
``updated`` / ``created`` with ``>=``, ``>``, ``<=``, ``<``, ``=`` against "yyyy/MM/dd HH:mm" (or
"yyyy-MM-dd[ HH:mm]") read in the searching user's time zone; ``ORDER BY`` field [ASC|DESC], ...
Anything else is a 400 as Jira gives it ("Error in the JQL Query: ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_TOKEN = re.compile(
    r"\s*(?:(?P<string>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<op>>=|<=|!=|=|>|<|~)"
    r"|(?P<punct>[(),])|(?P<word>[^\s(),=<>!~\"']+))"
)
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
TEXT_FIELDS = {"project", "labels", "key", "issuetype", "status"}
DATE_FIELDS = {"updated", "created"}


class JqlError(ValueError):
    """A query Jira would refuse with 400."""


@dataclass(frozen=True)
class Query:
    predicate: Callable[[dict[str, Any]], bool]
    order: list[tuple[str, bool]]  # (field, descending)
    bounded: bool  # Jira Cloud's search/jql refuses unbounded queries


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(f"Error in the JQL Query: unexpected character at {position}.")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _parse_date(value: str, time_zone: str) -> datetime:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=ZoneInfo(time_zone))
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' for field 'updated' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format."
    )


def parse(text: str, time_zone: str) -> Query:
    tokens = _tokens(text)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise JqlError("Error in the JQL Query: the query ended unexpectedly.")
        position += 1
        return tokens[position - 1]

    predicates: list[Callable[[dict[str, Any]], bool]] = []
    while peek() is not None and peek()[1].upper() != "ORDER":  # type: ignore[index]
        if predicates:
            _, word = take()
            if word.upper() != "AND":
                raise JqlError(f"Error in the JQL Query: expecting 'AND' but got '{word}'.")
        predicates.append(_clause(take, peek, time_zone))
    order: list[tuple[str, bool]] = []
    if peek() is not None:
        take()
        if take()[1].upper() != "BY":
            raise JqlError("Error in the JQL Query: expecting 'BY' after 'ORDER'.")
        while True:
            _, name = take()
            descending = False
            following = peek()
            if following is not None and following[1].upper() in ("ASC", "DESC"):
                descending = take()[1].upper() == "DESC"
            order.append((name.lower(), descending))
            following = peek()
            if following is None:
                break
            if following[1] != ",":
                raise JqlError(f"Error in the JQL Query: unexpected '{following[1]}'.")
            take()
    return Query(lambda issue: all(p(issue) for p in predicates), order, bool(predicates))


def _clause(
    take: Callable[[], tuple[str, str]],
    peek: Callable[[], tuple[str, str] | None],
    time_zone: str,
) -> Callable[[dict[str, Any]], bool]:
    _, name = take()
    field_name = name.lower()
    kind, operator = take()
    if kind == "word" and operator.upper() in ("IN", "NOT"):
        negate = operator.upper() == "NOT"
        if negate and take()[1].upper() != "IN":
            raise JqlError("Error in the JQL Query: expecting 'IN' after 'NOT'.")
        if take()[1] != "(":
            raise JqlError("Error in the JQL Query: expecting '(' after 'IN'.")
        values: list[str] = []
        while True:
            _, value = take()
            values.append(value)
            _, separator = take()
            if separator == ")":
                break
            if separator != ",":
                raise JqlError(f"Error in the JQL Query: unexpected '{separator}' in a list.")
        return _membership(field_name, values, negate)
    if kind != "op":
        raise JqlError(f"Error in the JQL Query: expecting an operator but got '{operator}'.")
    _, value = take()
    if field_name in DATE_FIELDS:
        moment = _parse_date(value, time_zone)
        compare = {
            ">=": lambda a: a >= moment,
            ">": lambda a: a > moment,
            "<=": lambda a: a <= moment,
            "<": lambda a: a < moment,
            "=": lambda a: a == moment,
        }.get(operator)
        if compare is None:
            raise JqlError(f"The operator '{operator}' is not supported by the '{name}' field.")
        return lambda issue: bool(compare(issue[field_name]))
    if field_name not in TEXT_FIELDS:
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
    if operator not in ("=", "!="):
        raise JqlError(f"The operator '{operator}' is not supported by the '{name}' field.")
    return _membership(field_name, [value], operator == "!=")


def _membership(
    field_name: str, values: list[str], negate: bool
) -> Callable[[dict[str, Any]], bool]:
    wanted = {value.casefold() for value in values}

    def matches(issue: dict[str, Any]) -> bool:
        held = issue[field_name]
        held_values = held if isinstance(held, list | tuple | set) else [held]
        found = any(str(value).casefold() in wanted for value in held_values)
        return found != negate

    return matches
