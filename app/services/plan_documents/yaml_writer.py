"""Write a plan document as YAML: dates unquoted, multi-line descriptions as literal blocks."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import yaml

from app.services.plan_documents.document import PlanDocument
from app.services.plan_documents.export import document_data

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists indented under their key (``goals:\n  - title: ...``), as people write YAML.
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _plain(value: Any, name: str = "") -> Any:
    """Dates as YAML dates (unquoted) and whole hours as integers (``6``, not ``6.0``)."""
    if isinstance(value, dict):
        return {key: _plain(child, key) for key, child in value.items()}
    if isinstance(value, list):
        return [_plain(child) for child in value]
    if name.endswith("_date") and isinstance(value, str) and _DATE.match(value):
        return date.fromisoformat(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def write_yaml(document: PlanDocument) -> str:
    return yaml.dump(
        _plain(document_data(document)),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
