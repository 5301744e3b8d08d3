"""The YAML reader finds the place of every key and value only when a problem asks for one: the
difference of a correct file names each goal's and item's line from the places read with the
data; the first field a problem names makes a second walk place every key and value exactly."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.services.plan_documents.diff import plan_changes
from app.services.plan_documents.places import Path, Place
from app.services.plan_documents.validation import parse_plan_document
from app.services.plan_documents.yaml_reader import read_yaml
from app.services.tokens import get_or_create_workspace
from tests.plan_documents.documents import QUARTER


def _paths(value: Any, path: Path = ()) -> list[Path]:
    children: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return [path]
    return [path] + [p for name, child in children for p in _paths(child, (*path, name))]


def test_a_correct_files_difference_needs_no_second_walk(engine: Engine) -> None:
    data, places = read_yaml(QUARTER)
    document = parse_plan_document(data, places)
    with Session(engine) as session:
        workspace = get_or_create_workspace(session, "acme")
        changes = plan_changes(session, workspace.id, document, places, prune=False)
        assert places.find_all is not None  # every place shown so far was read with the data
        lines = QUARTER.splitlines()
        for change in changes.all_changes():
            assert change.line is not None
            shown = lines[change.line - 1].lstrip(" -")
            assert shown.startswith(("plan:", "key:", "title:")), (change.title, shown)
        session.rollback()


def test_every_key_and_value_is_placed_at_its_line_and_column() -> None:
    data, places = read_yaml(QUARTER)
    starts = dict(places.by_path)
    owner: Path = ("goals", 0, "items", 1, "owner")
    assert places.of(owner) == Place(line=30, column=9)
    assert places.find_all is None  # found once, all of them
    assert {path: places.by_path[path] for path in starts} == starts
    lines = QUARTER.splitlines()
    for path in _paths(data):
        place = places.of(path)
        assert place.line is not None and place.column is not None
        text = lines[place.line - 1][place.column - 1 :]
        if path and isinstance(path[-1], str):
            assert text.startswith(f"{path[-1]}:"), (path, text)  # a mapping's value: its key
        elif path:  # a list's value: where it starts
            assert text.startswith(_start_of(data, path)), (path, text)
        assert places.by_path.get(path) == place, path


def _start_of(data: Any, path: Path) -> str:
    """How the value at ``path`` starts in the file: its first key, or its text."""
    value = data
    for part in path:
        value = value[part]
    return f"{next(iter(value))}:" if isinstance(value, dict) else str(value)
