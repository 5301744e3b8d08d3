"""The personal check-in page in real headless Chromium, with JavaScript off, at 1280 and 390 px:
a person opens their link, changes the suggested confidence, writes a note and saves."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from tests.api.factories import API
from tests.conftest import Tenant
from tests.dashboard.checkin_seed import seed_check_in
from tests.dashboard.test_browser import WIDTHS, snapshot
from tests.trackers.server import LoopbackServer

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    # What a person sees; the page's storage on both databases is test_checkin_page.py's.
    return "sqlite"


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_person_checks_in_from_the_link_without_javascript(
    browser: Browser, server: LoopbackServer, client: TestClient, tenant: Tenant, width: str
) -> None:
    seed = seed_check_in(client, tenant)
    viewport_width, viewport_height = WIDTHS[width]
    context = browser.new_context(
        viewport={"width": viewport_width, "height": viewport_height},
        base_url=server.url,
        java_script_enabled=False,
    )
    page = context.new_page()

    page.goto(seed.path)
    card = page.locator(f'section[data-goal-id="{seed.goal["id"]}"]')
    expect(card).to_contain_text("Write the release notes")
    expect(card).to_contain_text("Fix the sign-up form")
    snapshot(page, "checkin", width)
    card.get_by_label("Off track").check()
    card.get_by_label("Note").fill("The hosting contract holds up the launch.")
    card.get_by_label("I need help with this goal").check()
    page.get_by_role("button", name="Save check-in").click()

    expect(page.locator("#saved")).to_contain_text("Off track")
    snapshot(page, "checkin-saved", width)
    context.close()
    [recorded] = client.get(f"{API}/checkins", headers=tenant.headers).json()["items"]
    assert (recorded["confidence"], recorded["needs_help"]) == ("off_track", True)
    assert recorded["note"] == "The hosting contract holds up the launch."
