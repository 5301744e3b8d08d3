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


def _scan_events(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refusal(
                "yaml_alias",
                "YAML anchors and aliases (&name, *name) are not allowed in a plan document.",
                event.start_mark,
            )
        tag = getattr(event, "tag", None)
        if tag and tag not in _PLAIN_TAGS and tag not in ("!", "?"):
            raise _refusal("yaml_tag", f"The YAML tag {tag} is not allowed.", event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                raise _refusal(
                    "too_deep",
                    f"The document nests deeper than {MAX_NESTING_DEPTH} levels.",
                    event.start_mark,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"


def _place(node: yaml.Node) -> Place:
    return Place(line=node.start_mark.line + 1, column=node.start_mark.column + 1)


class _Converter:
    def __init__(self) -> None:
        self.places = Places()
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def value(self, node: yaml.Node, path: Path) -> Any:
        self.places.record(path, _place(node))
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node)
                name = str(key)
                self.places.record((*path, name), _place(key_node))
                if name in result:
                    here = Places({(*path, name): _place(key_node)})
                    message = f"The key {name!r} appears twice here."
                    self.problems.append(problem_at(here, (*path, name), "duplicate_key", message))
                result[name] = self.value(value_node, (*path, name))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.value(child, (*path, index)) for index, child in enumerate(node.value)]
        # The common scalars directly (a plan has tens of thousands); the rest by the safe
        # constructor, which reads them exactly as yaml.safe_load would.
        if node.tag == _STR:
            return node.value
        if node.tag == _INT and node.value.isdigit() and not node.value.startswith("0"):
            return int(node.value)
        return self._scalars.construct_object(node)


def read_yaml(content: bytes | str) -> tuple[Any, Places]:
    """The document's data and places, or DocumentInvalid naming the line and column."""
    text = _decode(content)
    try:
        _scan_events(text)
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"The file is not valid YAML: {exc.problem or exc.context}."
        raise _refusal("yaml_syntax", message, mark) from exc
    except yaml.YAMLError as exc:
        raise _refusal("yaml_syntax", f"The file is not valid YAML: {exc}.", None) from exc
    if node is None:
        raise _refusal("empty", "The document is empty.", None)
    converter = _Converter()
    try:
        data = converter.value(node, ())
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _refusal("yaml_value", f"A value could not be read: {exc}.", mark) from exc
    if converter.problems:
        raise DocumentInvalid(converter.problems)
    return data, converter.places
