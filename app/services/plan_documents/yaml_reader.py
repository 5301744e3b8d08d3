"""Read a YAML (or JSON) plan document safely, with the line and column of every value.

Safety first: the size is checked before parsing; each of the parser's events is checked before
anything is built from it (iteratively, no recursion): aliases are refused outright (a plan needs
none, and that refuses the "billion laughs" anchor bomb), and so are custom tags and nesting
deeper than the format ever goes. The data is built in the same pass, never composed into nodes
first, with scalars read as ``yaml.safe_load`` reads them.

Places cost as much as the data (a path and a place per key and value), and most applies of a
correct file never show one but a goal's or an item's line. So this pass records only where each
mapping and list starts; the place of every key and value is found by a second walk over the file
(``yaml_places``) the first time a problem asks for one.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import yaml

from app.services.plan_documents.limits import MAX_DOCUMENT_BYTES, MAX_NESTING_DEPTH
from app.services.plan_documents.places import (
    DocumentInvalid,
    Path,
    Place,
    Places,
    Problem,
    problem_at,
)
from app.services.plan_documents.yaml_events import LOADER, Level, Scalars, place_of
from app.services.plan_documents.yaml_places import locate


def _refusal(code: str, message: str, mark: Any | None) -> DocumentInvalid:
    places = Places({(): place_of(mark)} if mark is not None else {})
    return DocumentInvalid([problem_at(places, (), code, message)])


def _decode(content: bytes | str) -> str:
    raw = content.encode() if isinstance(content, str) else content
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise _refusal(
            "too_large",
            f"The document is {len(raw):,} bytes; the limit is {MAX_DOCUMENT_BYTES:,} bytes "
            "(split the plan into several files).",
            None,
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refusal("not_utf8", "The document is not UTF-8 text.", None) from exc


# Explicit tags that only say what a plain value is; any other tag (``!!python/...``) is refused.
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)


def _check(event: Any, depth: int) -> None:
    """Refuse anchors, aliases, tags other than the plain ones, and nesting beyond the limit."""
    if type(event) is yaml.AliasEvent or event.anchor:
        raise _refusal(
            "yaml_alias",
            "YAML anchors and aliases (&name, *name) are not allowed in a plan document.",
            event.start_mark,
        )
    tag = event.tag
    if tag and tag not in _PLAIN_TAGS and tag not in ("!", "?"):
        raise _refusal("yaml_tag", f"The YAML tag {tag} is not allowed.", event.start_mark)
    if depth > MAX_NESTING_DEPTH:
        raise _too_deep(event.start_mark)


def _too_deep(mark: Any) -> DocumentInvalid:
    return _refusal("too_deep", f"The document nests deeper than {MAX_NESTING_DEPTH} levels.", mark)


def _parser_nesting_limit(error: yaml.MarkedYAMLError) -> bool:
    """PyYAML 6.0.4 and later refuse nesting past 1,000 levels themselves, and its scanner reads
    a run of flow openers ("[[[[...") ahead of the first event, so that refusal can come before
    the reader's own, lower limit sees anything: it is the same refusal."""
    return "nesting depth" in str(error.problem or "")


class _Reader:
    """The data, built in one pass over the parser's events (never composed into nodes first;
    nothing is built before its event has been checked), and the place where each mapping and
    list starts: the place of every goal and item, which the difference names."""

    def __init__(self) -> None:
        self.starts: dict[Path, Place] = {}
        self.problems: list[Problem] = []
        self.root: Any = None
        self._scalars = Scalars()
        self._open: list[tuple[Level, dict[str, Any] | list[Any]]] = []
        self._key_mark: Any = None  # where the mapping key read last starts
        self._documents = 0

    def _store(self, value: Any) -> None:
        if not self._open:
            self.root = value
            return
        level, container = self._open[-1]
        if isinstance(container, dict):
            assert level.key is not None
            container[level.key] = value
        else:
            container.append(value)
        level.took_value()

    def _key(self, event: yaml.ScalarEvent) -> None:
        level, container = self._open[-1]
        name = str(self._scalars.value(event))
        if name in container:
            path = (*level.path, name)
            here = Places({path: place_of(event.start_mark)})
            message = f"The key {name!r} appears twice here."
            self.problems.append(problem_at(here, path, "duplicate_key", message))
        level.key = name
        self._key_mark = event.start_mark

    def _start(self, event: Any) -> None:
        mapping = type(event) is yaml.MappingStartEvent
        if self._open and self._open[-1][0].awaits_key():
            raise _refusal("yaml_key", "A key is plain text.", event.start_mark)
        parent = self._open[-1][0] if self._open else None
        path = parent.next_path() if parent is not None else ()
        # A mapping's value is placed at its key (as yaml_places places it); a duplicate key's
        # value starts again at the same path, and the first place stays.
        mark = self._key_mark if parent is not None and parent.mapping else event.start_mark
        self.starts.setdefault(path, place_of(mark))
        container: dict[str, Any] | list[Any] = {} if mapping else []
        self._open.append((Level(path, mapping), container))

    def _end(self) -> None:
        _, container = self._open.pop()
        self._store(container)

    def feed(self, event: Any) -> None:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            _check(event, len(self._open))
            if self._open and self._open[-1][0].awaits_key():
                self._key(event)
            else:
                self._store(self._scalars.value(event))
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            _check(event, len(self._open) + 1)
            self._start(event)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self._end()
        elif kind is yaml.AliasEvent:
            _check(event, len(self._open))
        elif kind is yaml.DocumentStartEvent:
            self._documents += 1
            if self._documents > 1:
                raise _refusal(
                    "yaml_syntax", "The file holds more than one YAML document.", event.start_mark
                )


def read_yaml(content: bytes | str) -> tuple[Any, Places]:
    """The document's data and places, or DocumentInvalid naming the line and column. The places
    of goals and items (where their mappings start) are found with the data; the places of keys
    and values by a second walk over the file when a problem first asks for one."""
    text = _decode(content)
    reader = _Reader()
    try:
        for event in yaml.parse(text, Loader=LOADER):
            reader.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if _parser_nesting_limit(exc):
            raise _too_deep(mark) from exc
        message = f"The file is not valid YAML: {exc.problem or exc.context}."
        raise _refusal("yaml_syntax", message, mark) from exc
    except yaml.YAMLError as exc:
        raise _refusal("yaml_syntax", f"The file is not valid YAML: {exc}.", None) from exc
    except (ValueError, TypeError) as exc:
        raise _refusal("yaml_value", f"A value could not be read: {exc}.", None) from exc
    if reader.problems:
        raise DocumentInvalid(reader.problems)
    if reader.root is None:
        raise _refusal("empty", "The document is empty.", None)
    return reader.root, Places(reader.starts, find_all=partial(locate, text))
