"""Every page renders for a seeded plan and for an empty workspace, with the API's figures."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.db import utcnow
from app.schemas.weeks import IsoWeek
from tests.conftest import Tenant
from tests.dashboard.seed import add_dead_link, seed_plan

PAGES = ["/", "/people", "/reviews", "/attention", "/connections"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_for_an_empty_workspace(signed_in: TestClient, path: str) -> None:
    response = signed_in.get(path)
    assert response.status_code == 200, response.text
    assert "text/html" in response.headers["content-type"]
    assert 'class="empty"' in response.text


def test_plan_page_shows_the_progress_and_health_the_api_reports(
    signed_in: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(signed_in, tenant.headers)
    progress = signed_in.get(f"/api/v1/plans/{seeded.plan_id}/progress", headers=tenant.headers)
    page = signed_in.get(f"/plans/{seeded.plan_id}")
    assert page.status_code == 200
    if progress.status_code == 200:
        expected = progress.json()["percent"]
        assert f"{expected:.0f} %" in page.text
    # 8 + 4 done of 8 + 12 + 6 + 4 + 10 = 40 hours: 30 %.
    assert "30 %" in page.text
    assert "12 h of 40 h" in page.text
    for title in ("Launch the partner portal", "Halve onboarding time"):
        assert title in page.text
    # Health is written out as text, not only carried by a colour.
    assert re.search(r">(On track|At risk|Off track|Done)<", page.text)


def test_goal_page_lists_items_burnup_and_a_retry_button_for_a_dead_link(
    signed_in: TestClient, tenant: Tenant, engine: Engine
) -> None:
    seeded = seed_plan(signed_in, tenant.headers)
    add_dead_link(engine, tenant.workspace_id, seeded.item_ids[1])
    page = signed_in.get(f"/goals/{seeded.goal_ids[0]}")
    assert page.status_code == 200
    assert "<svg" in page.text and 'class="burnup"' in page.text
    assert "scope 26 h, done 8 h" in page.text
    assert "Build the sign-up page" in page.text and "Ada Lovelace" in page.text
    assert "HTTP 422: Validation Failed (labels)" in page.text
    assert "/retry" in page.text and ">dead<" in page.text


def test_unknown_malformed_and_foreign_ids_answer_the_same_404(
    signed_in: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = seed_plan(signed_in, other_tenant.headers, name="Globex secret plan")
    for path in (
        f"/plans/{foreign.plan_id}",
        f"/goals/{foreign.goal_ids[0]}",
        "/plans/not-a-uuid",
        "/goals/00000000-0000-0000-0000-000000000000",
    ):
        response = signed_in.get(path)
        assert response.status_code == 404, path
        assert "Globex" not in response.text


def test_one_workspace_never_sees_another_workspaces_data(
    signed_in: TestClient, tenant: Tenant, other_tenant: Tenant, engine: Engine
) -> None:
    seed_plan(signed_in, tenant.headers, name="Acme plan")
    foreign = seed_plan(signed_in, other_tenant.headers, name="Globex secret plan")
    add_dead_link(engine, other_tenant.workspace_id, foreign.item_ids[1])
    for path in [*PAGES, f"/attention?plan={foreign.plan_id}", f"/reviews?plan={foreign.plan_id}"]:
        response = signed_in.get(path)
        assert response.status_code in (200, 422), path
        assert "Globex" not in response.text, path
        assert "Team GitHub" not in response.text, path
    assert "Acme plan" in signed_in.get("/").text


def test_pages_forbid_inline_scripts_and_caching(signed_in: TestClient) -> None:
    response = signed_in.get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_static_stylesheet_is_served_from_the_package(client: TestClient) -> None:
    response = client.get("/static/dashboard/dashboard.css")
    assert response.status_code == 200
    assert "@media print" in response.text and "@media (max-width: 720px)" in response.text


def test_the_api_and_probes_are_not_shadowed_by_the_dashboard(
    client: TestClient, tenant: Tenant
) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/api/v1/plans", headers=tenant.headers).status_code == 200
    assert client.get("/api/v1/plans").status_code == 401
    assert client.get("/openapi.json").status_code == 200
    # Dashboard pages stay out of the API description.
    assert "/signin" not in client.get("/openapi.json").json()["paths"]


def test_a_plan_without_goals_and_a_goal_without_items_render(
    signed_in: TestClient, tenant: Tenant
) -> None:
    owner = signed_in.post("/api/v1/people", json={"name": "Lin"}, headers=tenant.headers).json()
    plan = signed_in.post(
        "/api/v1/plans",
        json={"name": "Empty plan", "start_date": "2027-01-04", "end_date": "2027-03-28"},
        headers=tenant.headers,
    ).json()
    bare = signed_in.get(f"/plans/{plan['id']}")
    assert bare.status_code == 200 and "No goals in this plan yet." in bare.text
    goal = signed_in.post(
        "/api/v1/goals",
        json={"plan_id": plan["id"], "title": "Nothing planned yet", "owner_id": owner["id"]},
        headers=tenant.headers,
    ).json()
    for path in ("/", f"/plans/{plan['id']}", f"/goals/{goal['id']}", "/people", "/attention"):
        assert signed_in.get(path).status_code == 200, path
    page = signed_in.get(f"/goals/{goal['id']}").text
    assert "No action items yet." in page and "No estimated items yet" in page
    review = signed_in.get(f"/reviews?plan={plan['id']}&week={IsoWeek.of(utcnow().date())}")
    assert review.status_code == 200 and "Nothing planned yet" in review.text


def test_review_of_a_week_not_begun_says_so(signed_in: TestClient, tenant: Tenant) -> None:
    seed_plan(signed_in, tenant.headers)
    response = signed_in.get("/reviews?week=2030-W10")
    assert response.status_code == 422  # as the API answers, and as a week that does not exist
    assert "2030-W10 has not begun" in response.text


def test_review_of_a_week_that_does_not_exist_names_the_problem(signed_in: TestClient) -> None:
    response = signed_in.get("/reviews?week=2026-W54")
    assert response.status_code == 422
    assert "2026 has 53 weeks" in response.text
