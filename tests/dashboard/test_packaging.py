"""Templates and static files ship in the wheel: every one matches a package-data pattern."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_dashboard_file_is_declared_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["app"]
    package = ROOT / "app"
    files = [
        path.relative_to(package).as_posix()
        for folder in ("dashboard/templates", "dashboard/static")
        for path in (package / folder).rglob("*")
        if path.is_file()
    ]
    assert any(name.endswith(".html") for name in files)
    assert "dashboard/static/dashboard.css" in files
    undeclared = [name for name in files if not any(fnmatch(name, pattern) for pattern in patterns)]
    assert undeclared == []
