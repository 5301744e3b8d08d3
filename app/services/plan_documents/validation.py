"""Turn read data into a PlanDocument, or into problems that name their places in the file.

Besides the models' own checks: keys are unique (plan-wide for items, so an item can move between
goals by key), and declared people are unique by key and by email.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from app.services.plan_documents.document import (
    GoalEntry,
    ItemEntry,
    PersonDeclaration,
    PlanDocument,
    PlanSection,
    PlanSettings,
)
from app.services.plan_documents.places import (
    DocumentInvalid,
    Path,
    Places,
    Problem,
    problem_at,
)

# The model that holds the fields of a path's last mapping, to suggest the key a typo meant.
_MODELS: dict[str, type[BaseModel]] = {
    "plan": PlanSection,
    "settings": PlanSettings,
    "people": PersonDeclaration,
    "goals": GoalEntry,
    "items": ItemEntry,
}


def _owner_model(path: Path) -> type[BaseModel]:
    for part in reversed(path):
        if isinstance(part, str) and part in _MODELS:
            return _MODELS[part]
    return PlanDocument


def _message(error: Any, path: Path) -> tuple[str, str]:
    kind = str(error["type"])
    name = str(path[-1]) if path else "document"
    if kind == "extra_forbidden":
        known = list(_owner_model(path[:-1]).model_fields)
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else f" (known keys: {', '.join(known)})"
        return "unknown_key", f"Unknown key {name!r}{hint}."
    if kind == "missing":
        return "missing", f"{name} is required here."
    message = str(error["msg"]).removeprefix("Value error, ")
    return kind, f"{name}: {message}."


def validation_problems(exc: ValidationError, places: Places) -> list[Problem]:
    problems = []
    for error in exc.errors():
        path: Path = tuple(error["loc"])
        code, message = _message(error, path)
        problems.append(problem_at(places, path, code, message))
    return problems


def _duplicates(
    entries: Iterable[tuple[Path, str | None]], places: Places, what: str
) -> list[Problem]:
    seen: dict[str, Path] = {}
    problems = []
    for path, value in entries:
        if value is None:
            continue
        folded = value.lower()
        if folded in seen:
            first = places.of(seen[folded]).describe() or "earlier"
            problems.append(
                problem_at(places, path, "duplicate_key", f"Two {what} {value!r} ({first} too).")
            )
        else:
            seen[folded] = path
    return problems


def _uniqueness_problems(document: PlanDocument, places: Places) -> list[Problem]:
    people = list(enumerate(document.people))
    goal_keys = [(("goals", g, "key"), goal.key) for g, goal in enumerate(document.goals)]
    item_keys = [
        (("goals", g, "items", i, "key"), item.key)
        for g, goal in enumerate(document.goals)
        for i, item in enumerate(goal.items)
    ]
    return [
        *_duplicates([(("people", p, "key"), d.key) for p, d in people], places, "people keyed"),
        *_duplicates([(("people", p, "email"), d.email) for p, d in people], places, "people at"),
        *_duplicates(goal_keys, places, "goals keyed"),
        *_duplicates(item_keys, places, "items keyed"),
    ]


def parse_plan_document(data: Any, places: Places) -> PlanDocument:
    """The validated document, or DocumentInvalid with every problem found."""
    try:
        document = PlanDocument.model_validate(data)
    except ValidationError as exc:
        raise DocumentInvalid(validation_problems(exc, places)) from exc
    problems = _uniqueness_problems(document, places)
    if problems:
        raise DocumentInvalid(problems)
    return document
