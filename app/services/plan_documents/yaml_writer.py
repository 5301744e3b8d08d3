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
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dates(value: Any, name: str = "") -> Any:
    if isinstance(value, dict):
        return {key: _dates(child, key) for key, child in value.items()}
    if isinstance(value, list):
        return [_dates(child) for child in value]
    if name.endswith("_date") and isinstance(value, str) and _DATE.match(value):
        return date.fromisoformat(value)
    return value


def write_yaml(document: PlanDocument) -> str:
    return yaml.dump(
        _dates(document_data(document)),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
