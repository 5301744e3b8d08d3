"""Which weeks exist for reviews and check-ins: none not begun for a review; check-ins for the
current week, the previous one (late) and the next one only."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import utcnow
from app.errors import InvalidField
from app.models import ItemStatus
from app.models.execution import CheckIn, Confidence
from app.schemas.weeks import IsoWeek
from app.services.reviews import weekly_review
from app.settings import Settings
from tests.conftest import Tenant
from tests.execution.api_helpers import post, seed_plan
from tests.execution.factories import (
    at,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
    set_status,
)

SETTINGS = Settings(database_url="sqlite://")


def check_in(seeded: dict, week: IsoWeek, **extra: object) -> dict:  # type: ignore[type-arg]
    return {
        "owner_id": seeded["person"]["id"],
        "goal_id": seeded["goal"]["id"],
        "iso_week": str(week),
        "confidence": "at_risk",
        **extra,
    }


def test_a_week_that_has_not_begun_is_a_422_naming_the_week(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    response = client.patch(
        f"/api/v1/items/{seeded['item']['id']}", json={"status": "done"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    this_week = IsoWeek.of(seeded["today"])
    plan = seeded["plan"]["id"]
    for week in (this_week.shifted(1), IsoWeek.parse("2030-W10")):
        response = client.get(f"/api/v1/plans/{plan}/reviews/{week}", headers=tenant.headers)
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["loc"] == ["path", "iso_week"]
        assert f"{week} has not begun" in error["msg"] and str(this_week) in error["msg"]
    running = client.get(f"/api/v1/plans/{plan}/reviews/{this_week}", headers=tenant.headers)
    assert running.status_code == 200
    review = running.json()
    assert review["complete"] is False
    assert [item["title"] for item in review["goals"][0]["done"]] == ["Draft"]


def test_a_future_week_never_reports_past_work(session: Session) -> None:
    """The defect: the review of a week not begun listed an item finished weeks before."""
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id)
    plan = make_plan(session, workspace.id, start=date(2026, 11, 2), end=date(2027, 3, 28))
    goal = make_goal(session, plan, ada, "Launch", created=at("2026-11-02 09:00"))
    item = make_item(session, goal, ada, due=date(2026, 12, 4), created=at("2026-11-30 09:00"))
    set_status(session, item, ItemStatus.done, at("2026-12-03 10:00"))  # 2026-W49
    now = at("2026-12-05 10:00")
    with pytest.raises(InvalidField, match="2027-W03 has not begun"):
        weekly_review(session, workspace.id, plan.id, IsoWeek.parse("2027-W03"), SETTINGS, now=now)
    running = weekly_review(
        session, workspace.id, plan.id, IsoWeek.parse("2026-W49"), SETTINGS, now=now
    )
    assert [entry.title for entry in running.goals[0].done] == ["Item"]
    assert running.complete is False


def test_check_ins_are_for_the_current_previous_or_next_week_only(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    this_week = IsoWeek.of(utcnow().date())
    for offset in (-1, 0, 1):
        post(client, tenant.headers, "/checkins", check_in(seeded, this_week.shifted(offset)))
    for week in (this_week.shifted(-2), this_week.shifted(2), IsoWeek.parse("2030-W10")):
        response = client.post(
            "/api/v1/checkins", json=check_in(seeded, week), headers=tenant.headers
        )
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["loc"] == ["body", "iso_week"]
        assert str(week) in error["msg"] and str(this_week) in error["msg"]


def test_a_far_week_check_in_does_not_replace_this_weeks_confidence(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    seeded = seed_plan(client, tenant.headers)
    this_week = IsoWeek.of(utcnow().date())
    post(client, tenant.headers, "/checkins", check_in(seeded, this_week, confidence="on_track"))
    with Session(engine) as session:  # written before check-in weeks were checked
        session.add(
            CheckIn(
                workspace_id=tenant.workspace_id,
                owner_id=uuid.UUID(seeded["person"]["id"]),
                goal_id=uuid.UUID(seeded["goal"]["id"]),
                iso_week="2030-W10",
                confidence=Confidence.off_track,
            )
        )
        session.commit()
    health = client.get(
        f"/api/v1/goals/{seeded['goal']['id']}/health", headers=tenant.headers
    ).json()
    assert (health["confidence"], health["confidence_week"]) == ("on_track", str(this_week))


def test_a_late_check_in_counts_in_its_weeks_review_as_late(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    last_week = IsoWeek.of(utcnow().date() - timedelta(days=7))
    plan = seeded["plan"]["id"]
    before = client.get(f"/api/v1/plans/{plan}/reviews/{last_week}", headers=tenant.headers)
    assert [entry["goal"] for entry in before.json()["missing_check_ins"]] == ["Ship"]
    post(client, tenant.headers, "/checkins", check_in(seeded, last_week, note="Sorry, late"))
    review = client.get(f"/api/v1/plans/{plan}/reviews/{last_week}", headers=tenant.headers)
    body = review.json()
    assert body["missing_check_ins"] == []
    assert [(entry["goal"], entry["late"]) for entry in body["check_ins"]] == [("Ship", True)]
    markdown = client.get(
        f"/api/v1/plans/{plan}/reviews/{last_week}?format=md", headers=tenant.headers
    ).text
    assert "- Ship (Ada, late): at risk. Sorry, late." in markdown
