"""Read a plan written as a Markdown outline (the syntax is in docs/plan-documents.md):

    # 2027 Q1 start:2027-01-04 end:2027-03-31 connection:jira-main
    person: Ada Lovelace <ada@example.com> 8h key:ada

    ## Faster onboarding @ada target:2027-03-15 key:onboarding
    What the goal is for (any lines up to its first item).

    - [ ] Write the onboarding guide @ada due:2027-02-12 6h key:guide
      Its description, indented by two spaces.
    - [x] Record the welcome video @ada due:2027-01-20 3h

Fields are written as trailing words of a line: ``@owner``, ``6h`` (an estimate, or a person's
weekly hours), ``name:value`` (``name:"a value with spaces"``). Everything before them is the
title. ``- [ ]`` leaves an existing item's status as it is, ``- [x]`` is done, ``status:`` sets
any status.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from app.services.plan_documents.limits import MAX_DOCUMENT_BYTES
from app.services.plan_documents.places import (
    DocumentInvalid,
    Path,
    Place,
    Places,
    Problem,
    problem_at,
)

_TRAILING_WORD = re.compile(r'(?:^|\s)(\S+:"[^"]*"|\S+)\s*$')
_NAMED = re.compile(r'^([a-z_]+):(?:"([^"]*)"|(\S+))$')
_HOURS = re.compile(r"^(\d+(?:\.\d+)?)h$")
_ITEM = re.compile(r"^- \[([ xX])\]\s+(.*)$")
_EMAIL = re.compile(r"^(.*?)\s*<([^<>\s]+)>$")

# The names a line may carry as ``name:value``, and what they are called in the document.
PLAN_FIELDS = {
    "start": "start_date",
    "end": "end_date",
    "connection": "connection",
    "scope": "scope",
    "post_reviews_to_trackers": "post_reviews_to_trackers",
    "key": "key",
}
PERSON_FIELDS = {"key": "key"}
GOAL_FIELDS = {
    "target": "target_date",
    "connection": "connection",
    "scope": "scope",
    "key": "key",
}
ITEM_FIELDS = {
    "due": "due_date",
    "start": "start_date",
    "status": "status",
    "connection": "connection",
    "scope": "scope",
    "key": "key",
}


@dataclass
class _Token:
    name: str  # "owner", "hours" or the document's field name
    value: str
    column: int


class _Reader:
    def __init__(self) -> None:
        self.places = Places()
        self.problems: list[Problem] = []
        self.plan: dict[str, Any] | None = None
        self.people: list[dict[str, Any]] = []
        self.goals: list[dict[str, Any]] = []
        self._description: list[str] | None = None  # lines of the open goal's or item's text
        self._item_description = False

    def error(self, line: int, column: int, code: str, message: str) -> None:
        places = Places({(): Place(line=line, column=column)})
        self.problems.append(problem_at(places, (), code, message))

    def split(
        self, text: str, line: int, column: int, fields: dict[str, str]
    ) -> tuple[str, list[_Token]]:
        """The title and the trailing field words of a line's text (which starts at column)."""
        tokens: list[_Token] = []
        while True:
            match = _TRAILING_WORD.search(text)
            if match is None:
                break
            word, start = match.group(1), match.start(1)
            token = self._token(word, column + start, fields, line)
            if token is None:
                break
            tokens.append(token)
            text = text[: match.start()].rstrip()
        return text.strip(), list(reversed(tokens))

    def _token(self, word: str, column: int, fields: dict[str, str], line: int) -> _Token | None:
        if word.startswith("@") and len(word) > 1:
            return _Token("owner", word[1:], column)
        hours = _HOURS.match(word)
        if hours:
            return _Token("hours", hours.group(1), column)
        named = _NAMED.match(word)
        if named is None:
            return None
        name, value = (
            named.group(1),
            named.group(2) if named.group(2) is not None else named.group(3),
        )
        if name in fields:
            return _Token(fields[name], value, column)
        guess = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.75)
        if guess:
            self.error(
                line, column, "unknown_key", f"Unknown field {name!r} (did you mean {guess[0]!r}?)."
            )
            return _Token("", value, column)
        return None

    def fill(
        self, entry: dict[str, Any], path: Path, tokens: list[_Token], line: int, hours_field: str
    ) -> None:
        for token in tokens:
            if not token.name:
                continue
            name = {"owner": "owner", "hours": hours_field}.get(token.name, token.name)
            if name in entry:
                self.error(
                    line, token.column, "duplicate_key", f"{name} is given twice on this line."
                )
            entry[name] = token.value
            self.places.record((*path, name), Place(line=line, column=token.column))

    def plan_heading(self, text: str, line: int) -> None:
        if self.plan is not None:
            self.error(line, 1, "second_plan", "A document holds one plan: one '# ' heading.")
            return
        name, tokens = self.split(text, line, 3, PLAN_FIELDS)
        self.plan = {"name": name}
        self.places.record(("plan",), Place(line=line, column=1))
        self.places.record(("plan", "name"), Place(line=line, column=3))
        settings = [t for t in tokens if t.name == "post_reviews_to_trackers"]
        self.fill(self.plan, ("plan",), [t for t in tokens if t not in settings], line, "hours")
        if "hours" in self.plan:
            self.error(line, 1, "unknown_key", "A plan heading has no hours.")
        for token in settings:
            self.plan["settings"] = {"post_reviews_to_trackers": token.value}
            self.places.record(("plan", "settings"), Place(line=line, column=token.column))

    def person(self, text: str, line: int) -> None:
        path: Path = ("people", len(self.people))
        rest, tokens = self.split(text, line, 8, PERSON_FIELDS)
        entry: dict[str, Any] = {}
        email = _EMAIL.match(rest)
        entry["name"] = email.group(1) if email else rest
        if email:
            entry["email"] = email.group(2)
        self.places.record(path, Place(line=line, column=1))
        self.fill(entry, path, tokens, line, "weekly_strategic_hours")
        if "owner" in entry:
            self.error(line, 1, "unknown_key", "A person line has no @owner.")
        self.people.append(entry)

    def goal_heading(self, text: str, line: int) -> None:
        path: Path = ("goals", len(self.goals))
        title, tokens = self.split(text, line, 4, GOAL_FIELDS)
        goal: dict[str, Any] = {"title": title, "items": []} if title else {"items": []}
        self.places.record(path, Place(line=line, column=1))
        self.places.record((*path, "title"), Place(line=line, column=4))
        self.fill(goal, path, tokens, line, "hours")
        if "hours" in goal:
            self.error(line, 1, "unknown_key", "A goal heading has no estimate.")
        self.goals.append(goal)
        self._description = []
        goal["description"] = self._description
        self._item_description = False

    def item(self, box: str, text: str, line: int) -> None:
        if not self.goals:
            self.error(line, 1, "item_outside_goal", "An item line belongs under a '## ' goal.")
            return
        goal = self.goals[-1]
        path: Path = ("goals", len(self.goals) - 1, "items", len(goal["items"]))
        title, tokens = self.split(text, line, 7, ITEM_FIELDS)
        item: dict[str, Any] = {"title": title} if title else {}
        if box in "xX":
            item["status"] = "done"
        self.places.record(path, Place(line=line, column=1))
        self.places.record((*path, "title"), Place(line=line, column=7))
        self.fill(item, path, tokens, line, "estimate_hours")
        goal["items"].append(item)
        self._description = []
        item["description"] = self._description
        self._item_description = True

    def text_line(self, raw: str, line: int) -> None:
        if self._description is None:
            self.error(line, 1, "not_understood", "This line is not part of the plan outline.")
        elif self._item_description:
            if raw.startswith("  ") or not raw.strip():
                self._description.append(raw[2:])
            else:
                self.error(
                    line, 1, "not_understood", "An item's description is indented by two spaces."
                )
        else:
            self._description.append(raw)

    def read(self, text: str) -> dict[str, Any]:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip()
            if line.startswith("# "):
                self.plan_heading(line[2:], number)
                self._description = None
            elif line.startswith("## "):
                self.goal_heading(line[3:], number)
            elif self.plan is not None and not self.goals and line.startswith("person:"):
                self.person(line.removeprefix("person:"), number)
            elif _ITEM.match(line):
                match = _ITEM.match(line)
                assert match is not None
                self.item(match.group(1), match.group(2), number)
            elif line.startswith("- "):
                self.error(
                    number, 1, "not_understood", "An item line starts with '- [ ] ' or '- [x] '."
                )
            elif not line.strip() and self._description is None:
                continue
            else:
                self.text_line(line, number)
        if self.plan is None:
            self.error(
                1,
                1,
                "missing",
                "The outline needs a plan heading: '# Plan name start:... end:...'.",
            )
        for goal in self.goals:
            goal["description"] = _joined(goal["description"])
            for item in goal["items"]:
                item["description"] = _joined(item["description"])
        return {"plan": self.plan or {}, "people": self.people, "goals": self.goals}


def _joined(lines: list[str]) -> str:
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def read_markdown(content: bytes | str) -> tuple[Any, Places]:
    raw = content.encode() if isinstance(content, str) else content
    if len(raw) > MAX_DOCUMENT_BYTES:
        places = Places()
        message = f"The document is {len(raw):,} bytes; the limit is {MAX_DOCUMENT_BYTES:,} bytes."
        raise DocumentInvalid([problem_at(places, (), "too_large", message)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentInvalid(
            [problem_at(Places(), (), "not_utf8", "The document is not UTF-8 text.")]
        ) from exc
    reader = _Reader()
    data = reader.read(text)
    if reader.problems:
        raise DocumentInvalid(reader.problems)
    return data, reader.places
