"""The Chromium the browser tests drive: the machine's own Chromium or Chrome, else Playwright's.

A browser installed on the machine is used as it is (CI installs Debian's chromium). Without one,
Playwright's own Chromium is used, downloaded once by ``python -m playwright install chromium``
(needs the internet). When neither works, the browser tests fail in one line saying what to do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright
from playwright.sync_api import Error as PlaywrightError

ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SYSTEM_BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
)
# Installed applications that are usually not on PATH (macOS, Windows).
APPLICATION_PATHS = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
)
INSTALL_COMMAND = (sys.executable, "-m", "playwright", "install", "chromium")


def system_chromium(
    search_path: str | None = None, application_paths: Sequence[str] = APPLICATION_PATHS
) -> str | None:
    """The installed Chromium or Chrome (PATH first, then the usual application folders)."""
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name, path=search_path)
        if found is not None:
            return found
    return next((path for path in application_paths if Path(path).is_file()), None)


def failed_playwright_install(command: Sequence[str] = INSTALL_COMMAND) -> str | None:
    """Run ``playwright install chromium``; None when it worked, else why not in one line."""
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=900)
    if result.returncode == 0:
        return None
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    # The first error says why (a name that did not resolve); the later ones only that it gave up.
    reason = (errors or lines[-1:] or ["no output"])[0]
    return (
        f"no Chromium or Chrome is installed and `playwright install chromium` failed ({reason}): "
        "install Chromium or Chrome, or run the tests once with internet access"
    )


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch the system browser, else Playwright's own (installed first when missing)."""
    executable = system_chromium()
    if executable is not None:
        return playwright.chromium.launch(executable_path=executable, args=ARGS)
    try:
        return playwright.chromium.launch(args=ARGS)
    except PlaywrightError as exc:
        if "Executable doesn't exist" not in exc.message:
            raise
    failure = failed_playwright_install()
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    return playwright.chromium.launch(args=ARGS)
