"""The People page's check-in loop in headless Chromium at 1280 and 390 px: the three states and
the admin's "send link again", with screenshots."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from app.settings import Settings
from tests.conftest import Tenant
from tests.dashboard.people_loop_seed import seed_people_loop, with_mail
from tests.dashboard.test_browser import open_signed_in, snapshot
from tests.trackers.server import LoopbackServer

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    # What an admin sees; the page's storage on both databases is test_people_checkins.py's.
    return "sqlite"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_mail(settings)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_an_admin_sees_the_check_in_loop_and_sends_a_link_again(
    browser: Browser,
    server: LoopbackServer,
    client: TestClient,
    tenant: Tenant,
    engine: Engine,
    width: str,
) -> None:
    seed = seed_people_loop(client, tenant, engine)
    page = open_signed_in(browser, server, tenant.token, width)

    page.goto("/people")
    rows = page.get_by_test_id("checkin-row")
    expect(rows).to_have_count(3)
    ada = page.locator(f'#checkins tr[data-person-id="{seed.ada["id"]}"]')
    grace = page.locator(f'#checkins tr[data-person-id="{seed.grace["id"]}"]')
    linus = page.locator(f'#checkins tr[data-person-id="{seed.linus["id"]}"]')
    expect(ada.get_by_test_id("checked-in")).to_have_text("yes")
    expect(grace.get_by_test_id("reachable")).to_contain_text("no e-mail address")
    expect(linus.get_by_test_id("reminded")).to_contain_text("failed")
    expect(linus.get_by_test_id("reachable")).to_contain_text("SMTP 550")
    snapshot(page, "people-checkins", width)

    page.get_by_role("button", name="Send Ada Lovelace their check-in link again").click()

    expect(page.get_by_role("status")).to_contain_text("A new check-in link is on its way.")
    expect(ada.get_by_test_id("reminded")).to_contain_text("queued")
    snapshot(page, "people-checkins-sent", width)
    page.context.close()
