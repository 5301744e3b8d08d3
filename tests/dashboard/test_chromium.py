"""The browser tests find a Chromium on any machine, or say in one line what to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.dashboard.chromium import (
    ChromiumUnavailable,
    install_playwright_chromium,
    system_chromium,
)


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
    refused = [sys.executable, "-c", "import sys; print('progress'); sys.exit('download refused')"]
    with pytest.raises(ChromiumUnavailable) as raised:
        install_playwright_chromium(refused)
    message = str(raised.value)
    assert "\n" not in message
    assert "download refused" in message and "install Chromium or Chrome" in message
