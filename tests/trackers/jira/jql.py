"""The JQL the emulator understands, parsed and refused as Jira does.

Clauses joined by AND / OR, grouped with parentheses, negated with NOT. Fields: ``project``,
``key``, ``id``, ``issuetype`` (``type``), ``status``, ``statusCategory``, ``resolution``,
``labels``, ``assignee``, ``summary`` (``~`` / ``!~`` only), ``duedate`` (``due``), ``updated`` /
``created`` (and their ``…Date`` aliases). Operators ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``,
``~``, ``!~``, ``IN``, ``NOT IN``, ``IS [NOT] EMPTY`` (or ``NULL``). Dates: "yyyy/MM/dd HH:mm",
"yyyy-MM-dd HH:mm", "yyyy/MM/dd", "yyyy-MM-dd" in the searching user's time zone, periods such as
``-1d`` or ``"-4w 2d"`` (from now), and the functions ``now()``, ``startOfDay()``, ``endOfDay()``,
``startOfWeek()``, ``endOfWeek()``, ``startOfMonth()``, ``endOfMonth()`` (with an optional period
such as ``"-1"`` or ``"-2d"``); ``currentUser()`` for ``assignee``.
``ORDER BY`` field [ASC|DESC], ...

Anything else is a 400 with Jira's messages ("Field 'xyz' does not exist or you do not have
permission to view it.", "Error in the JQL Query: ..."), from Jira's "Advanced search reference"
pages (fields, operators, functions) on support.atlassian.com. A ``key`` clause naming an issue
that does not exist (now, not in the lagging index) is refused too, every such key named: "An
issue with key 'PB-9' does not exist for field 'key'."
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.trackers.jira.jql_matching import (
    JqlError,
    Predicate,
    compare_dates,
    contains,
    emptiness,
    membership,
)
from tests.trackers.jira.store import CATEGORIES, ISSUE_TYPES, RESOLUTIONS, STATUSES

__all__ = ["JqlError", "Query", "parse"]

_TOKEN = re.compile(
    r"\s*(?:(?P<string>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<op>>=|<=|!=|!~|=|>|<|~)"
    r"|(?P<punct>[(),])|(?P<word>[^\s(),=<>!~\"']+))"
)
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])")
# An issue key (project key, dash, number) or an issue id.
_ISSUE_KEY = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]*-\d+|\d+)$")
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' "
    "and 'IS NOT'."
)

# Field name (and aliases, lower case) -> the row key it reads.
FIELDS = {
    "project": "project",
    "key": "key",
    "issuekey": "key",
    "id": "id",
    "issuetype": "issuetype",
    "type": "issuetype",
    "status": "status",
    "statuscategory": "statuscategory",
    "resolution": "resolution",
    "labels": "labels",
    "assignee": "assignee",
    "summary": "summary",
    "duedate": "duedate",
    "due": "duedate",
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
}
DATE_FIELDS = {"updated", "created", "duedate"}
TEXT_FIELDS = {"summary"}


@dataclass(frozen=True)
class Query:
    predicate: Predicate
    order: list[tuple[str, bool]]  # (field, descending)
    bounded: bool  # Jira Cloud's search/jql refuses unbounded queries


@dataclass(frozen=True)
class Token:
    kind: str  # string, op, punct, word
    value: str

    def keyword(self) -> str:
        return self.value.upper() if self.kind == "word" else ""


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[position]}' is a reserved JQL "
                f"character. (line 1, character {position + 1})"
            )
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append(Token(kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(
        self,
        text: str,
        time_zone: str,
        now: datetime | None,
        projects: tuple[str, ...],
        issues: frozenset[str] | None,
    ) -> None:
        self.projects = projects
        self.issues = issues
        self.unknown_issues: list[str] = []  # Jira's message for each, all named at once
        self.tokens = _tokens(text)
        self.position = 0
        self.zone = ZoneInfo(time_zone)
        self.now = (now or datetime.now(self.zone)).astimezone(self.zone)
        self.clauses = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        if self.position >= len(self.tokens):
            raise JqlError("Error in the JQL Query: The query ended unexpectedly.")
        self.position += 1
        return self.tokens[self.position - 1]

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.keyword() in words

    # -- boolean structure -----------------------------------------------------------------------

    def parse(self) -> Query:
        predicate: Predicate = lambda row: True  # noqa: E731
        if self.peek() is not None and not self.at_keyword("ORDER"):
            predicate = self.any_of()
        order: list[tuple[str, bool]] = []
        if self.peek() is not None:
            if not self.at_keyword("ORDER"):
                raise JqlError(
                    f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got "
                    f"'{self.take().value}'."
                )
            self.take()
            if self.take().keyword() != "BY":
                raise JqlError("Error in the JQL Query: Expecting 'by' after 'order'.")
            order = self.order_by()
        if self.unknown_issues:
            raise JqlError(*self.unknown_issues)
        return Query(predicate, order, self.clauses > 0)

    def any_of(self) -> Predicate:
        parts = [self.all_of()]
        while self.at_keyword("OR"):
            self.take()
            parts.append(self.all_of())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def all_of(self) -> Predicate:
        parts = [self.negation()]
        while self.at_keyword("AND"):
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def negation(self) -> Predicate:
        token = self.peek()
        if token is not None and token.keyword() == "NOT":
            self.take()
            inner = self.negation()
            return lambda row: not inner(row)
        if token is not None and token.kind == "punct" and token.value == "(":
            self.take()
            inner = self.any_of()
            closing = self.take()
            if closing.value != ")":
                raise JqlError(f"Error in the JQL Query: Expecting ')' but got '{closing.value}'.")
            return inner
        return self.clause()

    def order_by(self) -> list[tuple[str, bool]]:
        order: list[tuple[str, bool]] = []
        while True:
            name = self.take().value.lower()
            if name not in FIELDS:
                raise JqlError(
                    f"Not able to sort using field '{name}'."
                    if name in ("description",)
                    else f"Field '{name}' does not exist or you do not have permission to view it."
                )
            descending = False
            if self.at_keyword("ASC", "DESC"):
                descending = self.take().keyword() == "DESC"
            order.append((FIELDS[name], descending))
            following = self.peek()
            if following is None:
                return order
            if following.value != ",":
                raise JqlError(
                    f"Error in the JQL Query: Expecting ',' but got '{following.value}'."
                )
            self.take()

    # -- clauses ---------------------------------------------------------------------------------

    def clause(self) -> Predicate:
        name_token = self.take()
        name = name_token.value
        column = FIELDS.get(name.lower())
        if column is None or name_token.kind not in ("word", "string"):
            raise JqlError(
                f"Field '{name}' does not exist or you do not have permission to view it."
            )
        self.clauses += 1
        operator = self.operator()
        if operator in ("IS", "IS NOT"):
            value = self.take()
            if value.keyword() not in ("EMPTY", "NULL"):
                raise JqlError(
                    f"Error in the JQL Query: Expecting 'EMPTY' or 'NULL' after '{operator}' but "
                    f"got '{value.value}'."
                )
            return emptiness(column, operator == "IS")
        if operator in ("IN", "NOT IN"):
            values = self.value_list(name, column)
            return membership(column, values, operator == "NOT IN")
        value = self.value(name, column)
        if column in TEXT_FIELDS:
            if operator not in ("~", "!~"):
                raise JqlError(f"The operator '{operator}' is not supported by the '{name}' field.")
            return contains(column, str(value), operator == "!~")
        if operator in ("~", "!~"):
            raise JqlError(f"The operator '{operator}' is not supported by the '{name}' field.")
        if column in DATE_FIELDS:
            return compare_dates(column, operator, value)
        if operator not in ("=", "!="):
            raise JqlError(f"The operator '{operator}' is not supported by the '{name}' field.")
        if value is None:  # "= EMPTY" reads as IS EMPTY
            return emptiness(column, operator == "=")
        return membership(column, [value], operator == "!=")

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op":
            return token.value
        word = token.keyword()
        if word == "IN":
            return "IN"
        if word in ("NOT", "IS"):
            if word == "NOT":
                if self.take().keyword() != "IN":
                    raise JqlError("Error in the JQL Query: Expecting 'IN' after 'NOT'.")
                return "NOT IN"
            if self.at_keyword("NOT"):
                self.take()
                return "IS NOT"
            return "IS"
        raise JqlError(
            f"Error in the JQL Query: Expecting operator but got '{token.value}'. {OPERATORS}"
        )

    def value_list(self, name: str, column: str) -> list[Any]:
        if self.take().value != "(":
            raise JqlError("Error in the JQL Query: Expecting '(' after 'IN'.")
        values: list[Any] = []
        while True:
            values.append(self.value(name, column))
            separator = self.take()
            if separator.value == ")":
                return values
            if separator.value != ",":
                raise JqlError(
                    f"Error in the JQL Query: Expecting ',' or ')' but got '{separator.value}'."
                )

    def value(self, name: str, column: str) -> Any:
        """The clause's value, resolved for its field: a datetime for dates, a key for statuses."""
        token = self.take()
        following = self.peek()
        if token.kind == "word" and following is not None and following.value == "(":
            return self.function(token.value, name, column)
        if token.kind == "word" and token.keyword() in ("EMPTY", "NULL"):
            return None
        if column in DATE_FIELDS:
            return self.date_value(token.value, name)
        if column == "key":
            self.check_issue(token.value, name)
        known_projects = {project.casefold() for project in self.projects}
        if column == "project" and known_projects and token.value.casefold() not in known_projects:
            raise JqlError(f"The value '{token.value}' does not exist for the field '{name}'.")
        return _known_value(name, column, token.value)

    def check_issue(self, key: str, name: str) -> None:
        """Jira refuses a key clause naming an issue that does not exist (or no longer does)."""
        if not _ISSUE_KEY.match(key):
            raise JqlError(f"The issue key '{key}' for field '{name}' is invalid.")
        if self.issues is not None and key.upper() not in self.issues:
            message = f"An issue with key '{key}' does not exist for field '{name}'."
            self.unknown_issues.append(message)

    def function(self, function: str, name: str, column: str) -> Any:
        self.take()  # (
        arguments: list[str] = []
        while True:
            token = self.take()
            if token.value == ")":
                break
            if token.value != ",":
                arguments.append(token.value)
        folded = function.lower()
        if folded == "currentuser" and column == "assignee":
            return "currentUser()"
        starts = {
            "startofday": ("day", False),
            "endofday": ("day", True),
            "startofweek": ("week", False),
            "endofweek": ("week", True),
            "startofmonth": ("month", False),
            "endofmonth": ("month", True),
        }
        if column in DATE_FIELDS and folded == "now" and not arguments:
            return self.now
        if column in DATE_FIELDS and folded in starts:
            unit, end = starts[folded]
            return self.calendar(unit, end, arguments[0] if arguments else None)
        if folded in starts or folded in ("now", "currentuser"):
            raise JqlError(
                f"Function '{function}' is not supported for the '{name}' field or takes "
                "other arguments."
            )
        raise JqlError(f"Unable to find JQL function '{function}()'.")

    def calendar(self, unit: str, end: bool, increment: str | None) -> datetime:
        today = self.now.date()
        if unit == "week":  # Jira's weeks start on Sunday
            first = today - timedelta(days=(today.weekday() + 1) % 7)
        elif unit == "month":
            first = today.replace(day=1)
        else:
            first = today
        start = datetime.combine(first, time(), self.zone)
        if increment:
            match = re.fullmatch(r"([-+]?\d+)\s*([wdhmM]?)", increment.strip())
            if match is None:
                raise JqlError(f"Invalid increment '{increment}'.")
            amount = int(match.group(1))
            letter = match.group(2) or {"day": "d", "week": "w", "month": "M"}[unit]
            if letter == "M":
                month = start.month - 1 + amount
                start = start.replace(year=start.year + month // 12, month=month % 12 + 1)
            else:
                start += timedelta(seconds=amount * _UNIT_SECONDS.get(letter, 86400))
        if not end:
            return start
        if unit == "month":
            month = start.month % 12 + 1
            following = start.replace(year=start.year + (start.month == 12), month=month)
        else:
            following = start + timedelta(days=7 if unit == "week" else 1)
        return following - timedelta(milliseconds=1)

    def date_value(self, text: str, name: str) -> datetime:
        period = _PERIOD.match(text.strip())
        if period is not None:
            seconds = sum(
                int(amount) * _UNIT_SECONDS[unit]
                for amount, unit in _PERIOD_PART.findall(period.group(2))
            )
            return self.now + timedelta(seconds=-seconds if period.group(1) == "-" else seconds)
        for pattern in _DATE_FORMATS:
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=self.zone)
            except ValueError:
                continue
        raise JqlError(
            f"Date value '{text}' for field '{name}' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'."
        )


def parse(
    text: str,
    time_zone: str,
    now: datetime | None = None,
    projects: tuple[str, ...] = (),
    issues: frozenset[str] | None = None,
) -> Query:
    """``now``: the emulator's time, for periods and date functions; ``projects``: the keys, ids
    and names a ``project`` clause may name (empty: any); ``issues``: the keys and ids of the
    issues that exist, which a ``key`` clause may name (None: any)."""
    return _Parser(text, time_zone, now, projects, issues).parse()


def _known_value(name: str, column: str, value: str) -> Any:
    """Jira names values it does not know for fields with a fixed set of them."""
    folded = value.casefold()
    known: dict[str, list[str]] = {
        "status": [status.name for status in STATUSES] + [status.id for status in STATUSES],
        "issuetype": [*ISSUE_TYPES, *ISSUE_TYPES.values()],
        "resolution": [*RESOLUTIONS, *RESOLUTIONS.values(), "Unresolved"],
    }
    if column == "statuscategory":
        for key, category in CATEGORIES.items():
            if folded in (key, str(category["id"]), str(category["name"]).casefold()):
                return key
    elif column not in known or folded in (choice.casefold() for choice in known[column]):
        if column == "status":
            return next(s.name for s in STATUSES if folded in (s.name.casefold(), s.id))
        if column == "issuetype":
            return next(n for n, i in ISSUE_TYPES.items() if folded in (n.casefold(), i))
        if column == "resolution":
            if folded == "unresolved":
                return None
            return next(n for n, i in RESOLUTIONS.items() if folded in (n.casefold(), i))
        return value
    raise JqlError(f"The value '{value}' does not exist for the field '{name}'.")
