"""The dashboard in real headless Chromium against planbridge served by uvicorn on loopback.

The machine's Chromium or Chrome is driven by the playwright package, else Playwright's own Chromium
(tests/dashboard/chromium.py). Every page is opened at 1280 and 390 px, saved as a screenshot
under test-artifacts/screenshots/ (to look at) and checked for the layout facts that broke before:
the page wider than the screen, dates wrapped at their hyphens, chart labels too small to read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.engine import Engine

from app.dashboard.rendering import format_hours, format_percent, health_label
from tests.conftest import Tenant
from tests.dashboard.seed import (
    SeededPlan,
    add_dead_link,
    add_focus_and_check_in,
    backdate_history,
    seed_plan,
)
from tests.trackers.server import LoopbackServer

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# The smallest text a phone user can read without zooming (WCAG has no number; 11 px is the usual
# floor of type scales, and the burn-up's labels were 6 px before).
SMALLEST_READABLE_PX = 11.0
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture
def backend() -> str:
    # The browser checks what a person sees; storage on both databases is covered by the
    # TestClient tests beside this file, so one backend keeps these tests to seconds.
    return "sqlite"


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
    """Save the page to look at, and check what must hold on every page at every width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    # Nothing may force sideways scrolling of the whole page (wide tables scroll in their box).
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name} at {width} is {widths[0]}px wide in {widths[1]}px"
    assert wrapped_dates(page) == [], f"{name} at {width} breaks dates over two lines"


def wrapped_dates(page: Page) -> list[str]:
    """The shown dates that take more than one line (a wrapped inline box has two rectangles)."""
    return list(
        page.evaluate(
            """Array.from(document.querySelectorAll("main time"))
                .filter((t) => t.getClientRects().length > 1 || t.getBoundingClientRect().height
                    > 2 * parseFloat(getComputedStyle(t).fontSize))
                .map((t) => t.textContent)"""
        )
    )


def chart_labels(page: Page) -> list[dict[str, float]]:
    """Each shown text of the burn-up: its CSS font size, the size it is drawn at, and its box."""
    return list(
        page.evaluate(
            """Array.from(document.querySelectorAll("svg.burnup text"))
                .filter((t) => t.getClientRects().length > 0)
                .map((t) => {
                    const box = t.getBoundingClientRect();
                    const size = parseFloat(getComputedStyle(t).fontSize);
                    return {size: size, drawn: size * t.getScreenCTM().a, left: box.left,
                            right: box.right, top: box.top, bottom: box.bottom,
                            week: t.classList.contains("week")};
                })"""
        )
    )


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

    page.goto(f"/plans/{seeded.plan_id}")
    expect(page.get_by_role("button", name="Create share link")).to_be_visible()

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

    page.goto("/people")
    ada = seeded.person_ids[0]
    commitments = api.get(f"/api/v1/people/{ada}/commitments").json()
    cells = page.locator(f'tr[data-person-id="{ada}"] [data-testid="capacity-cell"]')
    expect(cells.first).to_contain_text(format_hours(commitments["weeks"][0]["planned_hours"]))
    card = page.locator(f'article[data-person-id="{ada}"]')
    expect(card.get_by_test_id("open-count")).to_have_text(str(len(commitments["open"])))
    expect(card).to_contain_text("Tue 09:00-11:30 (Europe/Berlin)")

    page.goto(f"/attention?plan={seeded.plan_id}")
    attention = api.get(f"/api/v1/plans/{seeded.plan_id}/attention").json()["items"]
    expect(page.locator("tr[data-item-id]")).to_have_count(len(attention))

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

    page.goto("/connections")
    expect(page.get_by_test_id("rate-limit")).to_have_text("4321 of 5000")
    expect(page.get_by_test_id("connection-state")).to_have_text("failing")
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
    page.context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_every_page_fits_the_screen_with_readable_charts_and_unbroken_dates(
    browser: Browser, server: LoopbackServer, tenant: Tenant, seeded: SeededPlan, width: str
) -> None:
    page = open_signed_in(browser, server, tenant.token, width)
    snapshot(page, "plans", width)

    page.goto(f"/plans/{seeded.plan_id}")
    page.get_by_label("Label (optional)").fill("leadership team")
    page.get_by_role("button", name="Create share link").click()
    share_url = page.get_by_test_id("new-share-url").inner_text()
    page.goto(f"/plans/{seeded.plan_id}")
    revoke = page.get_by_role("button", name="Revoke share link")
    create = page.get_by_role("button", name="Create share link")
    colours = "(b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]"
    assert revoke.evaluate(colours) != create.evaluate(colours)
    snapshot(page, "plan", width)

    page.goto(f"/goals/{seeded.goal_ids[0]}")
    labels = chart_labels(page)
    assert labels, "the burn-up has no labels"
    assert min(label["drawn"] for label in labels) >= SMALLEST_READABLE_PX
    assert min(label["size"] for label in labels) >= SMALLEST_READABLE_PX
    weeks = sorted((label for label in labels if label["week"]), key=lambda label: label["left"])
    assert len(weeks) >= 3, "fewer than three dates under the burn-up"
    for before, after in itertools.pairwise(weeks):
        assert before["right"] <= after["left"], "date labels under the burn-up overlap"
    assert weeks[0]["left"] >= 0 and weeks[-1]["right"] <= WIDTHS[width][0]
    for line in ("today", "ideal", "target"):
        expect(page.locator(f"svg.burnup line.{line}")).to_have_count(1)
    snapshot(page, "goal", width)

    page.goto("/people")
    hint = page.get_by_text("Scroll sideways for more weeks")
    # On a phone the eight weeks do not fit and the table says so; on a desktop they fit.
    if width == "phone":
        expect(hint).to_be_visible()
    else:
        expect(hint).to_be_hidden()
    snapshot(page, "people", width)

    for name, path in (
        ("attention", f"/attention?plan={seeded.plan_id}"),
        ("review", f"/reviews?plan={seeded.plan_id}"),
        ("connections", "/connections"),
    ):
        page.goto(path)
        snapshot(page, name, width)

    page.goto("/goals/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_role("alert")).to_contain_text("no such page")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    snapshot(page, "not-found", width)
    page.goto("/plan")  # a mistyped address: no route at all
    expect(page.get_by_role("alert")).to_contain_text("no such page")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.context.close()

    viewport_width, viewport_height = WIDTHS[width]
    visitor = browser.new_context(viewport={"width": viewport_width, "height": viewport_height})
    signed_out = visitor.new_page()
    signed_out.goto(share_url)
    expect(signed_out.locator("h1")).to_contain_text("2027 Q1")
    snapshot(signed_out, "share", width)
    signed_out.goto(f"{server.url}/signin")
    expect(signed_out.get_by_label("API token")).to_be_visible()
    snapshot(signed_out, "signin", width)
    visitor.close()
