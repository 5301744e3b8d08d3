"""Each item appears once per list group, in its most telling list: of a week's changes, done
before newly blocked before started; of open work, overdue before stale before due soon."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from app.models import ItemStatus
from app.schemas.weeks import IsoWeek
from app.services.accountability import commitments
from app.services.reviews import weekly_review
from app.settings import Settings
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
NOW = at("2027-01-20 12:00")  # Wednesday of 2027-W03 (Monday 18 to Sunday 24 January)


def titles(items) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.title for item in items]


def test_commitments_list_an_item_once_overdue_before_stale_before_due_this_week(
    session: Session,
) -> None:
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id, "Ada", hours=10)
    goal = make_goal(session, make_plan(session, workspace.id), ada)
    # Due Monday of this week, so also "this week": overdue only.
    make_item(session, goal, ada, title="Overdue", due=date(2027, 1, 18))
    # Due Friday and 8 h that no longer fit at 10 h a week: stale only.
    make_item(session, goal, ada, title="Late start", due=date(2027, 1, 22), estimate=8)
    make_item(session, goal, ada, title="This week", due=date(2027, 1, 22), estimate=2)
    mine = commitments(session, workspace.id, ada.id, SETTINGS, now=NOW)
    assert titles(mine.overdue) == ["Overdue"]
    assert titles(mine.stale) == ["Late start"]
    assert titles(mine.due_this_week) == ["This week"]
    assert sorted(titles(mine.open)) == ["Late start", "Overdue", "This week"]


def test_review_lists_an_item_started_and_finished_in_the_week_as_done_only(
    session: Session,
) -> None:
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id, "Ada", hours=10)
    goal = make_goal(session, make_plan(session, workspace.id), ada, "Launch")
    created = at("2027-01-11 09:00")
    quick = make_item(session, goal, ada, title="Quick", due=date(2027, 1, 29), created=created)
    set_status(session, quick, ItemStatus.in_progress, at("2027-01-18 09:00"))
    set_status(session, quick, ItemStatus.done, at("2027-01-19 09:00"))
    stuck = make_item(session, goal, ada, title="Stuck", due=date(2027, 1, 29), created=created)
    set_status(session, stuck, ItemStatus.in_progress, at("2027-01-18 10:00"))
    set_status(session, stuck, ItemStatus.blocked, at("2027-01-19 10:00"))
    moving = make_item(session, goal, ada, title="Moving", due=date(2027, 1, 29), created=created)
    set_status(session, moving, ItemStatus.in_progress, at("2027-01-18 11:00"))
    review = weekly_review(
        session, workspace.id, goal.plan_id, IsoWeek.parse("2027-W03"), SETTINGS, now=NOW
    )
    (launch,) = review.goals
    assert titles(launch.done) == ["Quick"]
    assert titles(launch.newly_blocked) == ["Stuck"]
    assert titles(launch.started) == ["Moving"]
