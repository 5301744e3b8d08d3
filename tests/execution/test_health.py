"""Health rules and the velocity forecast, each at its edge, with the check-in confidence beside
them."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlmodel import Session, select

from app.models import ItemStatus
from app.models.execution import (
    CheckIn,
    Confidence,
    GoalHealthState,
    NotificationDelivery,
    Subscription,
)
from app.services.forecast import Velocity, forecast_finish
from app.services.health import Health, goal_health, plan_health
from app.services.health_changes import publish_health_changes
from app.settings import Settings
from tests.execution.factories import (
    at,
    make_block,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
    set_status,
)

NOW = at("2027-01-20 12:00")  # a Wednesday
SETTINGS = Settings(database_url="sqlite://")


def codes(health) -> set[str]:  # type: ignore[no-untyped-def]
    return {reason.code for reason in health.reasons}


def setup(session: Session, hours: float | None = 10.0, target: date | None = date(2027, 2, 26)):  # type: ignore[no-untyped-def]
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id, hours=hours)
    goal = make_goal(session, make_plan(session, workspace.id), owner, target=target)
    return workspace, owner, goal


def test_goal_without_items_is_at_risk(session: Session) -> None:
    workspace, _owner, goal = setup(session)
    health = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    assert health.health == Health.at_risk and codes(health) == {"no_items"}


def test_all_done_is_done_and_all_dropped_is_no_items(session: Session) -> None:
    workspace, owner, goal = setup(session)
    make_item(session, goal, owner, status=ItemStatus.done, created=at("2027-01-18 10:00"))
    make_item(session, goal, owner, status=ItemStatus.dropped)
    health = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    assert health.health == Health.done
    assert health.forecast_finish == date(2027, 1, 18)
    other = make_goal(session, make_plan(session, workspace.id), owner)
    make_item(session, other, owner, status=ItemStatus.dropped)
    assert goal_health(session, workspace.id, other.id, SETTINGS, now=NOW).health == Health.at_risk


def test_fresh_work_with_room_is_on_track(session: Session) -> None:
    workspace, owner, goal = setup(session)
    make_item(
        session, goal, owner, estimate=8, due=date(2027, 2, 20), created=at("2027-01-19 10:00")
    )
    health = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    assert health.health == Health.on_track, health.reasons
    # Jan 20 to Feb 26: 28 working days at 10 h a week = 56 h.
    assert health.available_hours == 56.0
    assert health.forecast_finish is None  # no velocity yet: no guess


def test_zero_capacity_owner_makes_any_remaining_work_off_track(session: Session) -> None:
    workspace, owner, goal = setup(session, hours=0)
    make_item(
        session, goal, owner, estimate=1, due=date(2027, 2, 20), created=at("2027-01-19 10:00")
    )
    health = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    assert health.health == Health.off_track and "over_capacity" in codes(health)


def test_tight_capacity_blocked_and_stale_are_at_risk(session: Session) -> None:
    workspace, owner, goal = setup(session, target=date(2027, 1, 29))  # 8 working days left: 16 h
    make_item(
        session,
        goal,
        owner,
        estimate=14,
        due=date(2027, 1, 28),
        status=ItemStatus.in_progress,
        created=at("2027-01-19 10:00"),
    )
    blocked = make_item(
        session, goal, owner, estimate=1, due=date(2027, 1, 28), created=at("2027-01-19 10:00")
    )
    set_status(session, blocked, ItemStatus.blocked, at("2027-01-19 11:00"))
    make_item(  # in progress, quiet for a little over 8 days
        session,
        goal,
        owner,
        estimate=0.5,
        due=date(2027, 1, 28),
        status=ItemStatus.in_progress,
        created=at("2027-01-12 11:59"),
    )
    health = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    assert health.health == Health.at_risk
    assert codes(health) == {"tight_capacity", "blocked_items", "stale_items"}
    assert health.stale_items == 1


def test_stale_threshold_follows_the_setting(session: Session) -> None:
    workspace, owner, goal = setup(session)
    make_item(
        session,
        goal,
        owner,
        estimate=1,
        due=date(2027, 2, 20),
        status=ItemStatus.in_progress,
        created=at("2027-01-15 12:00"),
    )
    lenient = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    strict = goal_health(
        session,
        workspace.id,
        goal.id,
        Settings(database_url="sqlite://", stale_after_days=3),
        now=NOW,
    )
    assert lenient.stale_items == 0 and strict.stale_items == 1


def test_overdue_holding_half_the_work_is_off_track_and_a_passed_deadline_too(
    session: Session,
) -> None:
    workspace, owner, goal = setup(session)
    make_item(
        session, goal, owner, estimate=2, due=date(2027, 1, 19), created=at("2027-01-19 10:00")
    )
    make_item(
        session, goal, owner, estimate=2, due=date(2027, 2, 19), created=at("2027-01-19 10:00")
    )
    health = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    assert health.health == Health.off_track and {"mostly_overdue", "overdue_items"} <= codes(
        health
    )
    late_workspace, late_owner, late_goal = setup(session, target=date(2027, 1, 19))
    make_item(
        session,
        late_goal,
        late_owner,
        estimate=1,
        due=date(2027, 1, 19),
        created=at("2027-01-19 10:00"),
    )
    late = goal_health(session, late_workspace.id, late_goal.id, SETTINGS, now=NOW)
    assert "deadline_passed" in codes(late) and late.available_hours == 0


def test_velocity_forecast_and_forecast_after_deadline(session: Session) -> None:
    workspace, owner, goal = setup(session, hours=None, target=date(2027, 1, 29))
    for day in (2, 9, 16):
        make_item(
            session,
            goal,
            owner,
            estimate=4,
            status=ItemStatus.done,
            created=at(f"2027-01-{day:02d} 12:00"),
        )
    # Outside the four-week window: does not count.
    make_item(
        session, goal, owner, estimate=16, status=ItemStatus.done, created=at("2026-12-20 12:00")
    )
    make_item(
        session, goal, owner, estimate=12, due=date(2027, 1, 28), created=at("2027-01-19 10:00")
    )
    health = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    assert health.velocity_hours_per_week == 3.0
    assert health.forecast_finish == date(2027, 1, 20) + timedelta(days=28)
    assert health.available_hours is None  # undeclared capacity adds no capacity rule
    assert codes(health) == {"forecast_after_deadline"}


def test_forecast_rounds_up_to_a_whole_day() -> None:
    assert forecast_finish(1.0, Velocity(3.0, None), date(2027, 1, 1)) == date(2027, 1, 4)
    assert forecast_finish(1.0, Velocity(0.0, None), date(2027, 1, 1)) is None


def test_latest_check_in_confidence_and_disagreement(session: Session) -> None:
    workspace, owner, goal = setup(session)
    make_item(
        session, goal, owner, estimate=8, due=date(2027, 2, 20), created=at("2027-01-19 10:00")
    )
    for week, confidence in (("2027-W02", Confidence.on_track), ("2027-W03", Confidence.off_track)):
        session.add(
            CheckIn(
                workspace_id=workspace.id,
                owner_id=owner.id,
                goal_id=goal.id,
                iso_week=week,
                confidence=confidence,
            )
        )
    session.flush()
    health = plan_health(session, workspace.id, goal.plan_id, SETTINGS, now=NOW).goals[0]
    assert (health.health, health.confidence, health.confidence_week) == (
        Health.on_track,
        "off_track",
        "2027-W03",
    )
    assert health.disagreement is True


def test_focus_block_capacity_counts_week_by_week_and_undeclared_adds_nothing(
    session: Session,
) -> None:
    workspace, owner, goal = setup(session, hours=None)
    make_block(session, owner, 0, time(9), time(13), zone="UTC")  # 4 h every Monday
    make_item(
        session, goal, owner, estimate=8, due=date(2027, 2, 20), created=at("2027-01-19 10:00")
    )
    # Jan 20 to Feb 26: 3 of 5 days of the first week (2.4 h), then five full weeks (20 h).
    assert goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW).available_hours == 22.4
    unplanned = make_person(session, workspace.id, hours=None)
    other = make_goal(session, make_plan(session, workspace.id), unplanned)
    make_item(session, other, unplanned, estimate=8, due=date(2027, 2, 20))
    assert goal_health(session, workspace.id, other.id, SETTINGS, now=NOW).available_hours is None


def test_health_change_text_reads_as_sentences(session: Session) -> None:
    """Each reason is a sentence of its own: no "overdue.;", no "item(s)"."""
    workspace, owner, goal = setup(session)
    session.add(
        Subscription(
            workspace_id=workspace.id,
            url="https://example.com/hook",
            event_types=["goal.health_changed"],
            secret_encrypted="unused here",
        )
    )
    session.add(GoalHealthState(goal_id=goal.id, workspace_id=workspace.id, health="on_track"))
    make_item(session, goal, owner, title="Late", estimate=1, due=date(2027, 1, 15))
    blocked = make_item(session, goal, owner, estimate=1, due=date(2027, 2, 20))
    set_status(session, blocked, ItemStatus.blocked, at("2027-01-19 09:00"))
    make_item(session, goal, owner, title="Also late", estimate=1, due=date(2027, 1, 18))
    session.flush()
    assert publish_health_changes(session, workspace.id, [goal.id], SETTINGS, now=NOW) == 1
    (delivery,) = session.exec(select(NotificationDelivery)).all()
    assert delivery.payload["data"]["from"] == "on_track"
    text = delivery.payload["text"]
    assert "2 items are overdue. 1 item is blocked." in text
    assert ".;" not in text and "(s)" not in text
