"""The architecture as written in docs/architecture.md, checked: the import layering, where ORM
hooks and item events may come from, and no dead code."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import vulture

import app.models

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["app", "connectors", "sync"]

# Names no code in app/, connectors/ or sync/ calls, because something outside them does.
CALLED_FROM_OUTSIDE = {
    "main": "the `planbridge` console script (pyproject.toml)",
    "create_served_app": "the uvicorn application factory that `planbridge serve` names",
    "MemoryConnector": "registered by entry point, like every connector",
    "process_bind_param": "SQLAlchemy TypeDecorator protocol",
    "process_result_value": "SQLAlchemy TypeDecorator protocol",
    "collect": "prometheus_client custom collector protocol",
    "_new_conn": "urllib3 connection protocol (the guarded outbound connection)",
    "init_poolmanager": "requests HTTPAdapter protocol",
    "proxy_manager_for": "requests HTTPAdapter protocol",
    "downgrade": "Alembic migration protocol",
    "AuthFailure": "a table: app/security/throttle.py counts failures in it with one SQL upsert",
    "webhook_body": "the memory tracker's webhook body, sent by whoever plays the tracker",
    "upgrade": "Alembic migration protocol",
}
# What a route, handler or command decorator registers is called by the framework.
FRAMEWORK_DECORATORS = [
    "@router.*",
    "@app.*",
    "@*.get",
    "@*.post",
    "@*.put",
    "@*.patch",
    "@*.delete",
    "@*.head",
    "@*.api_route",
    "@*.exception_handler",
    "@*.middleware",
    "@*.command",
    "@*.callback",
    "@field_validator",
    "@model_validator",
    "@field_serializer",
    "@computed_field",
    "@event.listens_for",
    "@compiles",  # SQLAlchemy calls a construct's compiler per dialect
]
# Kinds of unused code the check reports; attributes, variables and properties are left out
# because templates and pydantic read them by name, which no static tool can follow.
REPORTED_KINDS = {"function", "method", "class", "import"}
# The memory tracker's "a person does something in the tracker" API (connectors/memory_store.py)
# is what the demo and the sync tests drive; it has no caller inside the product by design.
MEMORY_TRACKER_CONTROLS = "connectors/memory_store.py"


def test_import_layering_contracts_are_kept() -> None:
    """connectors import nothing of app or sync; routes -> services -> models; sync -> connectors"""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_no_dead_code_in_the_product() -> None:
    scanner = vulture.Vulture(ignore_decorators=FRAMEWORK_DECORATORS)
    scanner.scavenge([str(ROOT / source) for source in SOURCES], exclude=["*/migrations/*"])
    dead = [
        f"{Path(item.filename).relative_to(ROOT)}:{item.first_lineno} {item.typ} {item.name}"
        for item in scanner.get_unused_code(min_confidence=60)
        if item.typ in REPORTED_KINDS
        and item.name not in CALLED_FROM_OUTSIDE
        and not str(item.filename).endswith(MEMORY_TRACKER_CONTROLS)
    ]
    assert dead == [], "unused code (delete it, or name its outside caller here):\n" + "\n".join(
        dead
    )


def _python_files_in(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_item_events_are_built_only_by_the_item_history_module() -> None:
    """Every writer of an item's history calls app/services/item_history.py, so what an event
    means (its snapshot, its data) is decided in one place."""
    home = ROOT / "app" / "services" / "item_history.py"
    builders = [
        str(path.relative_to(ROOT))
        for path in _python_files_in("app", "sync")
        if path != home and re.search(r"(?<!class )\bItemEvent\(", path.read_text())
    ]
    assert builders == [], "build item events with record_item_event or record_event"


# The one module that installs ORM hooks; app/db.py adds the engine's own connection events
# (SQLite pragmas and its write turn) to each engine it builds, which no session sees.
HOOK_HOME = ROOT / "app" / "session_hooks.py"
ENGINE_EVENTS = ROOT / "app" / "db.py"


def test_orm_hooks_are_installed_in_one_place_only() -> None:
    """No module changes what a flush or a commit does by being imported."""
    registrations = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _python_files_in("app", "sync", "connectors")
        if path not in {HOOK_HOME, ENGINE_EVENTS}
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\bevent\.listen\(|listens_for\(|\blisten\(", line)
    ]
    assert registrations == [], "install ORM hooks in app/session_hooks.py"


# Generated by `alembic revision --autogenerate` from the models, and regenerated while no release
# has shipped: its upgrade and downgrade are one long list of table statements by nature.
GENERATED = ROOT / "app" / "migrations"
LONGEST_FUNCTION = 80


def test_no_function_is_longer_than_eighty_lines() -> None:
    """A function that does not fit on a screen holds more than one idea: split it."""
    too_long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for path in _python_files_in(*SOURCES)
        if GENERATED not in path.parents
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION
    ]
    assert too_long == [], "functions over 80 lines:\n" + "\n".join(too_long)


def test_tables_are_not_aliased_as_any_to_skip_type_checking() -> None:
    """Queries name typed columns (``col(ExternalLink.dead)``): ``link: Any = ExternalLink``
    switches mypy off for every query written with ``link``."""
    tables = {
        name
        for name, value in vars(app.models).items()
        if isinstance(value, type) and hasattr(value, "__table__")
    }
    aliases = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _python_files_in(*SOURCES)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.annotation, ast.Name)
        and node.annotation.id == "Any"
        and isinstance(node.value, ast.Name)
        and node.value.id in tables
    ]
    assert aliases == [], "use col(Table.column) instead of an Any alias:\n" + "\n".join(aliases)
