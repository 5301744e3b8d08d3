"""Stale means "not moving": in progress without activity, or not started in time. Health, the
attention list, commitments and the weekly review all find the same stale items."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from app.models import ActionItem, ItemStatus
from app.models.execution import FrozenGoalReview
from app.schemas.weeks import IsoWeek
from app.services.accountability import attention, commitments_of_people
from app.services.health import goal_health
from app.services.reviews import weekly_review
from app.services.staleness import is_stale
from app.settings import Settings
from tests.execution.factories import (
    at,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
    record,
    set_status,
)
from tests.execution.review_reference import reference_review

NOW = at("2027-01-20 12:00")  # Wednesday of 2027-W03
SETTINGS = Settings(database_url="sqlite://")
STALE = {"Quiet work", "Missed start", "Tight"}


def quarter(session: Session):  # type: ignore[no-untyped-def]
    """Ada (10 h a week) and Bob (no declared hours) with one item per case of the rule."""
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id, "Ada", hours=10)
    bob = make_person(session, workspace.id, "Bob", hours=None)
    plan = make_plan(session, workspace.id)
    goal = make_goal(session, plan, ada, "Launch", target=date(2027, 3, 26))
    old = at("2027-01-04 09:00")

    def item(title: str, owner=ada, **values):  # type: ignore[no-untyped-def]
        values.setdefault("due", date(2027, 2, 19))
        values.setdefault("created", old)
        return make_item(session, goal, owner, title=title, **values)

    # Not started, due in a month, untouched for 16 days: not late, so not stale.
    item("Later", due=date(2027, 3, 1))
    quiet = item("Quiet work")
    set_status(session, quiet, ItemStatus.in_progress, at("2027-01-08 09:00"))
    busy = item("Busy work")
    set_status(session, busy, ItemStatus.in_progress, at("2027-01-18 09:00"))
    item("Missed start", start=date(2027, 1, 18))
    item("Future start", start=date(2027, 1, 25))
    # 8 h at 10 h a week need 5.6 days: Jan 20 to 24 is 5 (late), to 25 is 6 (in time).
    item("Tight", estimate=8, due=date(2027, 1, 24))
    item("Fits", estimate=8, due=date(2027, 1, 25))
    waiting = item("Waiting")
    set_status(session, waiting, ItemStatus.blocked, at("2027-01-05 09:00"))
    item("Undeclared", owner=bob, estimate=8, due=date(2027, 1, 21))
    return workspace, plan, goal, (ada, bob)


def test_every_reader_finds_the_same_stale_items(session: Session) -> None:
    workspace, plan, goal, people = quarter(session)
    health = goal_health(session, workspace.id, goal.id, SETTINGS, now=NOW)
    assert health.stale_items == len(STALE)
    assert any(
        reason.message.startswith("3 items are stale: in progress without activity")
        for reason in health.reasons
    )
    listed = attention(session, workspace.id, plan.id, SETTINGS, now=NOW).items
    assert {entry.title for entry in listed if "stale" in entry.reasons} == STALE
    everyone = commitments_of_people(session, workspace.id, list(people), SETTINGS, now=NOW)
    assert {entry.title for mine in everyone.values() for entry in mine.stale} == STALE
    review = weekly_review(
        session, workspace.id, plan.id, IsoWeek.of(NOW.date()), SETTINGS, now=NOW
    )
    assert {entry.title for entry in review.goals[0].stale} == STALE


def test_a_todo_item_due_weeks_from_now_is_not_on_the_attention_list(session: Session) -> None:
    workspace, plan, _goal, _people = quarter(session)
    listed = attention(session, workspace.id, plan.id, SETTINGS, now=NOW).items
    titles = {entry.title for entry in listed}
    assert {"Later", "Future start", "Fits", "Busy work", "Undeclared"}.isdisjoint(
        {entry.title for entry in listed if "stale" in entry.reasons}
    )
    assert "Waiting" in titles  # listed as blocked, not as stale
    (waiting,) = [entry for entry in listed if entry.title == "Waiting"]
    assert "stale" not in waiting.reasons and "blocked" in waiting.reasons


@pytest.mark.parametrize(
    "now", ["2027-01-17 12:00", "2027-01-20 12:00", "2027-01-25 10:00", "2027-02-03 10:00"]
)
def test_review_staleness_equals_the_replay_before_and_after_changes(
    session: Session, now: str
) -> None:
    """Items changed after the cut (started, finished, re-planned) are judged as they stood at
    it, by the service's fast path and by the event-by-event replay alike."""
    workspace, plan, _goal, _people = quarter(session)
    items = {item.title: item for item in session.exec(select(ActionItem))}
    set_status(session, items["Later"], ItemStatus.in_progress, at("2027-01-21 09:00"))
    set_status(session, items["Quiet work"], ItemStatus.done, at("2027-01-26 09:00"))
    set_status(session, items["Missed start"], ItemStatus.in_progress, at("2027-01-27 09:00"))
    for week in (IsoWeek.parse("2027-W02"), IsoWeek.parse("2027-W03"), IsoWeek.parse("2027-W04")):
        if at(now) < week.start_utc:
            continue  # not begun: no review (tests/execution/test_review_weeks.py)
        expected = reference_review(session, workspace.id, plan.id, week, SETTINGS, now=at(now))
        actual = weekly_review(session, workspace.id, plan.id, week, SETTINGS, now=at(now))
        assert actual == expected


@pytest.mark.parametrize(
    ("status", "quiet", "start", "due", "weekly", "stale"),
    [
        (ItemStatus.in_progress, True, None, date(2027, 3, 1), 10.0, True),
        (ItemStatus.in_progress, False, None, date(2027, 3, 1), 10.0, False),
        (ItemStatus.blocked, True, None, date(2027, 3, 1), 10.0, False),
        (ItemStatus.done, True, None, date(2027, 1, 1), 10.0, False),
        (ItemStatus.todo, True, None, date(2027, 3, 1), 10.0, False),
        (ItemStatus.todo, False, date(2027, 1, 19), date(2027, 3, 1), 10.0, True),
        (ItemStatus.todo, True, date(2027, 1, 20), date(2027, 3, 1), 10.0, False),
        (ItemStatus.todo, False, None, date(2027, 1, 24), 10.0, True),
        (ItemStatus.todo, False, None, date(2027, 1, 25), 10.0, False),
        (ItemStatus.todo, False, None, date(2027, 1, 21), None, False),
        (ItemStatus.todo, False, None, date(2027, 3, 1), 0.0, True),
    ],
)
def test_the_rule_at_its_edges(
    status: ItemStatus,
    quiet: bool,
    start: date | None,
    due: date,
    weekly: float | None,
    stale: bool,
) -> None:
    assert (
        is_stale(
            status,
            quiet=quiet,
            start_date=start,
            due_date=due,
            estimate_hours=8,
            weekly_hours=weekly,
            today=date(2027, 1, 20),
        )
        is stale
    )


def test_a_stored_week_follows_a_changed_start_date_and_weekly_hours(session: Session) -> None:
    """Staleness reads the current start date and owner's hours, so a stored week changes with
    them as a recomputation would."""
    workspace, plan, _goal, (ada, _bob) = quarter(session)
    week, now = IsoWeek.parse("2027-W03"), at("2027-01-25 10:00")

    def stale_titles() -> set[str]:
        review = weekly_review(session, workspace.id, plan.id, week, SETTINGS, now=now, store=True)
        assert review == reference_review(session, workspace.id, plan.id, week, SETTINGS, now=now)
        return {entry.title for entry in review.goals[0].stale}

    before = stale_titles()
    assert "Later" not in before and "Future start" not in before
    assert session.exec(select(FrozenGoalReview)).all() != []
    ada.weekly_strategic_hours = 0.5  # 4 h then need 56 days; 36 are left before March 1
    session.add(ada)
    session.flush()
    assert "Later" in stale_titles()
    (future,) = session.exec(select(ActionItem).where(ActionItem.title == "Future start")).all()
    future.start_date = date(2027, 1, 19)
    session.add(future)
    record(
        session,
        future,
        "planning",
        at("2027-01-26 09:00"),
        field="start_date",
        from_value="2027-01-25",
        to_value="2027-01-19",
    )
    assert "Future start" in stale_titles()
