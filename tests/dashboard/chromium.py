"""The Chromium the browser tests drive: the machine's own Chromium or Chrome, else Playwright's.

A browser installed on the machine is used as it is (CI installs Debian's chromium). Without one,
Playwright's own Chromium is used, downloaded once by ``python -m playwright install chromium``
(needs the internet). When neither works, the tests fail with one line saying what to install.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

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


class ChromiumUnavailable(Exception):
    """Neither a system browser nor Playwright's own Chromium can be had on this machine."""


def system_chromium(
    search_path: str | None = None, application_paths: Sequence[str] = APPLICATION_PATHS
) -> str | None:
    """The installed Chromium or Chrome (PATH first, then the usual application folders)."""
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name, path=search_path)
        if found is not None:
            return found
    return next((path for path in application_paths if Path(path).is_file()), None)


def install_playwright_chromium(command: Sequence[str] = INSTALL_COMMAND) -> None:
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
        raise ChromiumUnavailable(
            "no Chromium or Chrome is installed and `playwright install chromium` failed "
            f"({output[-1].strip()}): install Chromium or Chrome, or run it with internet access"
        )


def launch_chromium(playwright: Playwright) -> Browser:
    executable = system_chromium()
    if executable is not None:
        return playwright.chromium.launch(executable_path=executable, args=ARGS)
    try:
        return playwright.chromium.launch(args=ARGS)
    except PlaywrightError as exc:
        if "Executable doesn't exist" not in exc.message:
            raise
    install_playwright_chromium()
    return playwright.chromium.launch(args=ARGS)
