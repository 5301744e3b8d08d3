"""Read a JSON plan document; its problems are named by JSON path (``$.goals[0].title``)."""

from __future__ import annotations

import json
from typing import Any

from app.services.plan_documents.limits import MAX_DOCUMENT_BYTES, MAX_NESTING_DEPTH
from app.services.plan_documents.places import DocumentInvalid, Places, problem_at


def _refusal(code: str, message: str) -> DocumentInvalid:
    return DocumentInvalid([problem_at(Places(), (), code, message)])


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return depth


def read_json(content: bytes | str) -> tuple[Any, Places]:
    raw = content.encode() if isinstance(content, str) else content
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise _refusal(
            "too_large",
            f"The document is {len(raw):,} bytes; the limit is {MAX_DOCUMENT_BYTES:,} bytes.",
        )
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise _refusal(
            "too_deep", f"The document nests deeper than {MAX_NESTING_DEPTH} levels."
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refusal("json_syntax", f"The file is not valid JSON: {exc}.") from exc
    if _depth(data) > MAX_NESTING_DEPTH:
        raise _refusal("too_deep", f"The document nests deeper than {MAX_NESTING_DEPTH} levels.")
    return data, Places()
