"""Dependencies point one way: the API routes and the dashboard both sit on app.services."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def _imports(folder: Path) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((path.name, node.module))
            elif isinstance(node, ast.Import):
                found.update((path.name, alias.name) for alias in node.names)
    return found


def test_routes_and_dashboard_do_not_import_each_other() -> None:
    routes_to_dashboard = {
        (name, module)
        for name, module in _imports(APP / "routes")
        if module.startswith("app.dashboard")
    }
    dashboard_to_routes = {
        (name, module)
        for name, module in _imports(APP / "dashboard")
        if module.startswith("app.routes")
    }
    assert routes_to_dashboard == set()
    assert dashboard_to_routes == set()
