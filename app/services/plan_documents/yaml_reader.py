"""Read a YAML (or JSON) plan document safely, remembering the line and column of every value.

Safety first: the size is checked before parsing; the event stream is scanned (iteratively, no
recursion) for aliases, which are refused outright (a plan needs none, and that refuses the
"billion laughs" anchor bomb), for custom tags and for nesting deeper than the format ever goes.
Only then is the file composed into nodes and turned into plain data with the safe constructor.
"""

from __future__ import annotations

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


def _refusal(code: str, message: str, mark: Any | None) -> DocumentInvalid:
    place = Places()
    if mark is not None:
        place.record((), Place(line=mark.line + 1, column=mark.column + 1))
    return DocumentInvalid([problem_at(place, (), code, message)])


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


# libyaml's parser when PyYAML was built with it (ten times faster on a plan of 2,000 items).
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"


def _place(mark: Any) -> Place:
    return Place(line=mark.line + 1, column=mark.column + 1)


def _check(event: yaml.Event, depth: int) -> None:
    """Refuse anchors, aliases, tags other than the plain ones, and nesting beyond the limit."""
    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
        raise _refusal(
            "yaml_alias",
            "YAML anchors and aliases (&name, *name) are not allowed in a plan document.",
            event.start_mark,
        )
    tag = getattr(event, "tag", None)
    if tag and tag not in _PLAIN_TAGS and tag not in ("!", "?"):
        raise _refusal("yaml_tag", f"The YAML tag {tag} is not allowed.", event.start_mark)
    if depth > MAX_NESTING_DEPTH:
        raise _refusal(
            "too_deep",
            f"The document nests deeper than {MAX_NESTING_DEPTH} levels.",
            event.start_mark,
        )


class _Builder:
    """Plain data and the place of every value, built in one pass over the parser's events
    (never composed into nodes first; nothing is built before its event has been checked)."""

    def __init__(self) -> None:
        self.places = Places()
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")
        # Open collections: the container, its path, and (mappings) the key read last.
        self._open: list[tuple[dict[str, Any] | list[Any], Path, list[str | None]]] = []
        self.root: Any = None
        self._documents = 0

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":  # as PyYAML's composer does
            resolve: Any = self._scalars.resolve
            tag = resolve(yaml.ScalarNode, event.value, event.implicit)
        # The common scalars directly (a plan has tens of thousands); the rest by the safe
        # constructor, which reads them exactly as yaml.safe_load would.
        if tag == _STR:
            return event.value
        if tag == _INT and event.value.isdigit() and not event.value.startswith("0"):
            return int(event.value)
        marks: Any = (event.start_mark, event.end_mark)  # libyaml's marks, PyYAML's shape
        node = yaml.ScalarNode(tag, event.value, marks[0], marks[1], event.style)
        return self._scalars.construct_object(node)

    def _key(self, name: str, mark: Any) -> None:
        container, path, pending = self._open[-1]
        self.places.record((*path, name), _place(mark))
        if name in container:
            here = Places({(*path, name): _place(mark)})
            message = f"The key {name!r} appears twice here."
            self.problems.append(problem_at(here, (*path, name), "duplicate_key", message))
        pending[0] = name

    def _path_of_next(self) -> Path | None:
        """The path of the value that comes next, or None when it is a mapping's key."""
        if not self._open:
            return ()
        container, path, pending = self._open[-1]
        if isinstance(container, list):
            return (*path, len(container))
        return (*path, pending[0]) if pending[0] is not None else None

    def _store(self, value: Any) -> None:
        if not self._open:
            self.root = value
            return
        container, _, pending = self._open[-1]
        if isinstance(container, list):
            container.append(value)
        else:
            assert pending[0] is not None
            container[pending[0]] = value
            pending[0] = None

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self._documents += 1
            if self._documents > 1:
                raise _refusal(
                    "yaml_syntax", "The file holds more than one YAML document.", event.start_mark
                )
            return
        if not isinstance(event, yaml.NodeEvent):
            if isinstance(event, yaml.CollectionEndEvent):
                container, _, _ = self._open.pop()
                self._store(container)
            return
        _check(event, len(self._open) + isinstance(event, yaml.CollectionStartEvent))
        path = self._path_of_next()
        if path is None:  # a mapping's key
            if not isinstance(event, yaml.ScalarEvent):
                raise _refusal("yaml_key", "A key is plain text.", event.start_mark)
            self._key(str(self._scalar(event)), event.start_mark)
            return
        self.places.record(path, _place(event.start_mark))
        if isinstance(event, yaml.MappingStartEvent):
            self._open.append(({}, path, [None]))
        elif isinstance(event, yaml.SequenceStartEvent):
            self._open.append(([], path, [None]))
        else:
            assert isinstance(event, yaml.ScalarEvent)
            self._store(self._scalar(event))


def read_yaml(content: bytes | str) -> tuple[Any, Places]:
    """The document's data and places, or DocumentInvalid naming the line and column."""
    text = _decode(content)
    builder = _Builder()
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"The file is not valid YAML: {exc.problem or exc.context}."
        raise _refusal("yaml_syntax", message, mark) from exc
    except yaml.YAMLError as exc:
        raise _refusal("yaml_syntax", f"The file is not valid YAML: {exc}.", None) from exc
    except (ValueError, TypeError) as exc:
        raise _refusal("yaml_value", f"A value could not be read: {exc}.", None) from exc
    if builder.problems:
        raise DocumentInvalid(builder.problems)
    if builder.root is None:
        raise _refusal("empty", "The document is empty.", None)
    return builder.root, builder.places
