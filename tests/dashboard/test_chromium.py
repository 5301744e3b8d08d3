"""The browser tests find a Chromium on any machine, or say in one line what to install."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.dashboard.chromium import failed_playwright_install, system_chromium


def _executable(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_installed_chrome_on_the_path_is_used(tmp_path: Path) -> None:
    chrome = _executable(tmp_path, "google-chrome")
    assert system_chromium(search_path=str(tmp_path), application_paths=()) == str(chrome)


def test_installed_application_outside_the_path_is_used(tmp_path: Path) -> None:
    application = _executable(tmp_path, "Google Chrome")
    found = system_chromium(
        search_path=str(tmp_path / "empty"), application_paths=[str(application)]
    )
    assert found == str(application)


def test_no_system_browser_means_playwright_s_own(tmp_path: Path) -> None:
    assert system_chromium(search_path=str(tmp_path), application_paths=()) is None


def test_failed_download_is_one_line_saying_what_to_install() -> None:
    refused = [
        sys.executable,
        "-c",
        "import sys; print('Downloading'); print('Error: no route to host', file=sys.stderr); "
        "print('  at somewhere', file=sys.stderr); print('Error: gave up', file=sys.stderr); "
        "sys.exit(1)",
    ]
    failure = failed_playwright_install(refused)
    assert failure is not None and "\n" not in failure
    assert "Error: no route to host" in failure and "install Chromium or Chrome" in failure


def test_successful_download_is_no_failure() -> None:
    assert failed_playwright_install([sys.executable, "-c", "print('done')"]) is None
