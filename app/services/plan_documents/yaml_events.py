"""What both walks over a YAML file's parser events share: the parser, the value of a scalar,
the place of an event, and the path of the next value in an open mapping or list.

The reader (``yaml_reader``) walks the events once for the data; the places of its keys and values
(``yaml_places``) are found by a second walk only when a problem asks for one.
"""

from __future__ import annotations

from typing import Any

import yaml

from app.services.plan_documents.places import Path, Place

# libyaml's parser when PyYAML was built with it (ten times faster on a plan of 2,000 items).
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"


def place_of(mark: Any) -> Place:
    return Place(line=mark.line + 1, column=mark.column + 1)


class Scalars:
    """Scalar events to values exactly as ``yaml.safe_load`` reads them (the safe resolver and
    constructor). A plain scalar's value depends on its text only and is immutable (text, number,
    date, boolean, null), so each text is resolved once per file: a plan repeats its dates,
    estimates and owners thousands of times."""

    def __init__(self) -> None:
        self._loader = yaml.SafeLoader("")
        self._plain: dict[str, Any] = {}

    def value(self, event: yaml.ScalarEvent) -> Any:
        plain = event.tag is None and event.implicit[0]
        if plain and event.value in self._plain:
            return self._plain[event.value]
        tag = event.tag
        if tag is None or tag == "!":  # as PyYAML's composer does
            resolve: Any = self._loader.resolve
            tag = resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:
            value: Any = event.value
        else:
            marks: Any = (event.start_mark, event.end_mark)  # libyaml's marks, PyYAML's shape
            node = yaml.ScalarNode(tag, event.value, marks[0], marks[1], event.style)
            value = self._loader.construct_object(node)
        if plain:
            self._plain[event.value] = value
        return value


class Level:
    """An open mapping or list: its path, and where the next value goes (a mapping's key read
    last, or None while the next scalar is a key; a list's count of values so far)."""

    __slots__ = ("count", "key", "mapping", "path")

    def __init__(self, path: Path, mapping: bool) -> None:
        self.path = path
        self.mapping = mapping
        self.key: str | None = None
        self.count = 0

    def awaits_key(self) -> bool:
        return self.mapping and self.key is None

    def next_path(self) -> Path:
        """The path of the value that comes next."""
        return (*self.path, self.key if self.mapping else self.count)  # type: ignore[arg-type]

    def took_value(self) -> None:
        """The value at ``next_path()`` is complete: a mapping awaits its next key."""
        if self.mapping:
            self.key = None
        else:
            self.count += 1
