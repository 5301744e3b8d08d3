"""The dashboard in real headless Chromium against planbridge served by uvicorn on loopback.

The machine's Chromium or Chrome is driven by the playwright package, else Playwright's own Chromium
(tests/dashboard/chromium.py). Each page is opened at 1280 and 390 px and saved as a screenshot
under test-artifacts/dashboard/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.engine import Engine

from app.dashboard.rendering import format_hours, format_percent, health_label
from tests.conftest import Tenant
from tests.dashboard.chromium import launch_chromium
from tests.dashboard.seed import (
    SeededPlan,
    add_dead_link,
    add_focus_and_check_in,
    backdate_history,
    seed_plan,
)
from tests.trackers.server import LoopbackServer

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture
def backend() -> str:
    # The browser checks what a person sees; storage on both databases is covered by the
    # TestClient tests beside this file, so one backend keeps these tests to seconds.
    return "sqlite"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def server(app: FastAPI) -> Iterator[LoopbackServer]:
    with LoopbackServer(app) as running:
        yield running


@pytest.fixture
def api(server: LoopbackServer, tenant: Tenant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=tenant.headers, timeout=10) as client:
        yield client


@pytest.fixture
def seeded(api: httpx.Client, tenant: Tenant, engine: Engine) -> SeededPlan:
    plan = seed_plan(api, {})
    add_focus_and_check_in(api, {}, plan)
    backdate_history(engine, tenant.workspace_id)
    plan.dead_link_id = add_dead_link(engine, tenant.workspace_id, plan.item_ids[1])
    return plan


def open_signed_in(browser: Browser, server: LoopbackServer, token: str, width: str) -> Page:
    viewport_width, viewport_height = WIDTHS[width]
    context = browser.new_context(
        viewport={"width": viewport_width, "height": viewport_height}, base_url=server.url
    )
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(f"{server.url}/signin")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/")
    return page


def snapshot(page: Page, name: str, width: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    # Nothing may force sideways scrolling of the whole page (wide tables scroll in their box).
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= WIDTHS[width][0], f"{name} at {width} is {scroll_width}px wide"


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_every_page_shows_the_apis_figures(
    browser: Browser,
    server: LoopbackServer,
    tenant: Tenant,
    api: httpx.Client,
    seeded: SeededPlan,
    width: str,
) -> None:
    page = open_signed_in(browser, server, tenant.token, width)
    progress = api.get(f"/api/v1/plans/{seeded.plan_id}/progress").json()
    health = {
        entry["goal_id"]: entry
        for entry in api.get(f"/api/v1/plans/{seeded.plan_id}/health").json()["goals"]
    }

    plan_section = page.locator(f'section[data-plan-id="{seeded.plan_id}"]')
    expect(plan_section.get_by_test_id("progress-percent").first).to_have_text(
        format_percent(progress["percent"])
    )
    for goal in progress["goals"]:
        row = page.locator(f'tr[data-goal-id="{goal["goal_id"]}"]')
        expect(row.get_by_test_id("progress-percent")).to_have_text(format_percent(goal["percent"]))
        expect(row.get_by_test_id("progress-hours")).to_have_text(
            f"{format_hours(goal['done_hours'])} of {format_hours(goal['total_hours'])}"
        )
        expect(row.get_by_test_id("health").locator(".badge")).to_have_text(
            health_label(health[goal["goal_id"]]["health"])
        )
    snapshot(page, "plans", width)

    page.goto(f"/plans/{seeded.plan_id}")
    expect(page.get_by_role("button", name="Create share link")).to_be_visible()
    snapshot(page, "plan", width)

    page.goto(f"/goals/{seeded.goal_ids[1]}")
    expect(page.locator(".checkins")).to_contain_text("Vendor contract still unsigned.")
    expect(page.locator(".checkins")).to_contain_text("Needs help")

    page.goto(f"/goals/{seeded.goal_ids[0]}")
    goal = progress["goals"][0]
    expect(page.locator("svg.burnup")).to_be_visible()
    expect(page.locator("#burnup-desc")).to_contain_text(
        f"scope {goal['total_hours']:g} h, done {goal['done_hours']:g} h"
    )
    items = api.get("/api/v1/items", params={"goal_id": seeded.goal_ids[0]}).json()["items"]
    expect(page.locator("tr[data-item-id]")).to_have_count(len(items))
    expect(
        page.locator(f'tr[data-item-id="{seeded.item_ids[1]}"]').get_by_test_id("sync-state")
    ).to_contain_text("dead")
    snapshot(page, "goal", width)

    page.goto("/people")
    ada = seeded.person_ids[0]
    commitments = api.get(f"/api/v1/people/{ada}/commitments").json()
    cells = page.locator(f'tr[data-person-id="{ada}"] [data-testid="capacity-cell"]')
    expect(cells.first).to_contain_text(format_hours(commitments["weeks"][0]["planned_hours"]))
    card = page.locator(f'article[data-person-id="{ada}"]')
    expect(card.get_by_test_id("open-count")).to_have_text(str(len(commitments["open"])))
    expect(card).to_contain_text("Tue 09:00-11:30 (Europe/Berlin)")
    snapshot(page, "people", width)

    page.goto(f"/attention?plan={seeded.plan_id}")
    attention = api.get(f"/api/v1/plans/{seeded.plan_id}/attention").json()["items"]
    expect(page.locator("tr[data-item-id]")).to_have_count(len(attention))
    snapshot(page, "attention", width)

    page.goto(f"/reviews?plan={seeded.plan_id}")
    expect(page.get_by_label("ISO week")).to_be_visible()
    review = api.get(
        f"/api/v1/plans/{seeded.plan_id}/reviews/{page.get_by_label('ISO week').input_value()}"
    ).json()
    # "Needs help" comes first, before the goals.
    first_section = page.locator("main section").first
    expect(first_section).to_contain_text("Needs help")
    expect(first_section).to_contain_text(review["needs_help"][0]["blockers"])
    for goal in review["goals"]:
        expect(
            page.locator(f'article[data-goal-id="{goal["goal_id"]}"]').get_by_test_id(
                "review-progress"
            )
        ).to_contain_text(format_percent(goal["percent_end"]))
    snapshot(page, "review", width)

    page.goto("/connections")
    expect(page.get_by_test_id("rate-limit")).to_have_text("4321 of 5000")
    expect(page.get_by_test_id("connection-state")).to_have_text("failing")
    snapshot(page, "connections", width)
    page.context.close()


def test_retry_button_queues_a_dead_item(
    browser: Browser, server: LoopbackServer, tenant: Tenant, api: httpx.Client, seeded: SeededPlan
) -> None:
    page = open_signed_in(browser, server, tenant.token, "desktop")
    page.goto(f"/goals/{seeded.goal_ids[0]}")
    page.get_by_role("button", name="Retry sync of Build the sign-up page").click()
    expect(page.get_by_role("status")).to_contain_text("Retry queued")
    state = page.locator(f'tr[data-item-id="{seeded.item_ids[1]}"]').get_by_test_id("sync-state")
    expect(state).to_contain_text("retry queued")
    assert api.get("/api/v1/sync/dead").json()["total"] == 0
    page.context.close()


def test_calendar_feed_link_is_shown_once_and_serves_the_feed(
    browser: Browser, server: LoopbackServer, tenant: Tenant, api: httpx.Client, seeded: SeededPlan
) -> None:
    page = open_signed_in(browser, server, tenant.token, "desktop")
    page.goto("/people")
    page.get_by_role("button", name="Create calendar feed link for Ada Lovelace").click()
    feed_url = page.get_by_test_id("new-feed-url").inner_text()
    feed = httpx.get(feed_url, timeout=10)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert b"RRULE:FREQ=WEEKLY" in feed.content
    page.get_by_role("button", name="Revoke calendar link").click()
    expect(page.get_by_role("status")).to_contain_text("calendar feed link was revoked")
    assert httpx.get(feed_url, timeout=10).status_code == 404
    page.context.close()


def test_share_link_sign_out_and_revocation(
    browser: Browser, server: LoopbackServer, tenant: Tenant, seeded: SeededPlan
) -> None:
    page = open_signed_in(browser, server, tenant.token, "desktop")
    page.goto(f"/plans/{seeded.plan_id}")
    page.get_by_label("Label (optional)").fill("leadership team")
    page.get_by_role("button", name="Create share link").click()
    share_url = page.get_by_test_id("new-share-url").inner_text()

    visitor = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    visitor.goto(share_url)
    expect(visitor.locator("h1")).to_contain_text("2027 Q1")
    expect(visitor.locator(f'tr[data-goal-id="{seeded.goal_ids[0]}"]')).to_be_visible()
    expect(visitor.locator("form")).to_have_count(0)
    snapshot(visitor, "share", "phone")

    page.goto(f"/plans/{seeded.plan_id}")
    page.get_by_role("button", name="Revoke share link").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    visitor.goto(share_url)
    expect(visitor.get_by_role("alert")).to_contain_text("revoked")
    visitor.context.close()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/signin")
    page.goto("/people")
    expect(page).to_have_url(f"{server.url}/signin?next=/people")
    snapshot(page, "signin", "desktop")
    page.context.close()
