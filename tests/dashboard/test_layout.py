"""What the pages are built from for a newcomer to read them: dates, buttons, the 404 page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.dashboard.rendering import date_element, dates_unbroken
from app.dashboard.views_people import weeks_before_plans_end
from app.db import utcnow
from tests.conftest import Tenant
from tests.dashboard.seed import csrf_from, seed_plan


def test_a_date_is_one_time_element_that_the_stylesheet_keeps_on_one_line() -> None:
    assert date_element(date(2027, 1, 10)) == '<time datetime="2027-01-10">2027-01-10</time>'
    assert date_element(datetime(2027, 1, 10, 9, 30, tzinfo=UTC)) == (
        '<time datetime="2027-01-10T09:30:00+00:00">2027-01-10 09:30 UTC</time>'
    )
    assert date_element(None) == "-"


def test_dates_inside_a_sentence_become_time_elements_and_the_rest_stays_escaped() -> None:
    text = "At the recent pace <the work> finishes on 2027-02-06, after 2027-01-14."
    assert dates_unbroken(text) == (
        "At the recent pace &lt;the work&gt; finishes on "
        '<time datetime="2027-02-06">2027-02-06</time>, after '
        '<time datetime="2027-01-14">2027-01-14</time>.'
    )


def test_the_404_page_keeps_the_navigation_for_a_signed_in_viewer(signed_in: TestClient) -> None:
    response = signed_in.get("/plans/not-a-plan")
    assert response.status_code == 404
    assert "There is no such page in this workspace." in response.text
    assert '<nav aria-label="Main">' in response.text
    assert 'action="/signout"' in response.text


def test_a_mistyped_address_in_a_browser_gets_the_404_page_with_the_navigation(
    signed_in: TestClient, tenant: Tenant
) -> None:
    page = signed_in.get("/plan", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert '<nav aria-label="Main">' in page.text
    # API clients and the API's own paths keep their JSON problem.
    assert signed_in.get("/plan").headers["content-type"] == "application/problem+json"
    api = signed_in.get("/api/v1/nothing-here", headers={"accept": "text/html"})
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_revoke_buttons_are_styled_apart_from_create_buttons(
    signed_in: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(signed_in, tenant.headers)
    page = signed_in.get(f"/plans/{seeded.plan_id}")
    signed_in.post(
        f"/plans/{seeded.plan_id}/share-links",
        data={"csrf_token": csrf_from(page.text), "label": "leads"},
    )
    page = signed_in.get(f"/plans/{seeded.plan_id}")
    assert re.search(r'<button type="submit" class="danger" aria-label="Revoke share', page.text)
    assert re.search(r'<button type="submit">Create share link</button>', page.text)
    css = signed_in.get("/static/dashboard/dashboard.css").text
    assert "button.danger { background: var(--card); color: var(--bad)" in css


@pytest.mark.parametrize(
    ("plans_end", "shown"),
    [(None, 8), (date(2027, 1, 24), 3), (date(2027, 1, 25), 4), (date(2026, 12, 1), 1)],
)
def test_heat_map_weeks_stop_at_the_last_plans_end(plans_end: date | None, shown: int) -> None:
    weeks = [f"2027-W{number:02d}" for number in range(1, 9)]  # Mondays 4 Jan to 22 Feb
    assert weeks_before_plans_end(weeks, plans_end) == shown


def test_people_page_heat_map_has_no_columns_after_the_plan_ends(
    signed_in: TestClient, tenant: Tenant
) -> None:
    today = utcnow().date()
    signed_in.post("/api/v1/people", json={"name": "Lin"}, headers=tenant.headers)
    plan = signed_in.post(
        "/api/v1/plans",
        json={
            "name": "Short plan",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=15)).isoformat(),
        },
        headers=tenant.headers,
    )
    assert plan.status_code == 201, plan.text
    page = signed_in.get("/people").text
    expected = len({(today + timedelta(days=day)).isocalendar()[:2] for day in range(16)})
    assert page.count('data-testid="capacity-cell"') == expected
    assert "Scroll sideways for more weeks" in page
