"""Who owns open work in a running plan and has not checked in, and their week at a glance, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import CheckIn, Confidence, ItemStatus
from app.schemas.weeks import IsoWeek
from app.services.owner_week import checked_in_people, owner_week, owners_of_open_work
from tests.execution.factories import (
    at,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
)

WEEK = IsoWeek(2027, 10)  # Monday 8 March 2027


def test_owners_of_open_work_are_item_owners_and_goal_owners_of_running_plans(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        workspace = make_workspace(session)
        lead = make_person(session, workspace.id, "Lead")
        doer = make_person(session, workspace.id, "Doer")
        finished = make_person(session, workspace.id, "Finished")
        past = make_person(session, workspace.id, "Past")
        make_person(session, workspace.id, "Idle")
        running = make_plan(session, workspace.id, date(2027, 1, 4), date(2027, 3, 28))
        ended = make_plan(session, workspace.id, date(2026, 10, 1), date(2026, 12, 31))
        goal = make_goal(session, running, lead)
        make_item(session, goal, doer, due=date(2027, 3, 10))
        make_item(session, goal, finished, status=ItemStatus.done)
        make_item(session, make_goal(session, ended, past), past)
        session.add(
            CheckIn(
                workspace_id=workspace.id,
                owner_id=lead.id,
                goal_id=goal.id,
                iso_week=str(WEEK),
                confidence=Confidence.on_track,
            )
        )
        session.flush()

        assert set(owners_of_open_work(session, workspace.id, WEEK)) == {lead.id, doer.id}
        # Only this week's check-in counts for this week.
        checked_in = checked_in_people(session, workspace.id, [WEEK, WEEK.shifted(1)])
        assert checked_in == {(lead.id, str(WEEK))}


def test_week_at_a_glance_is_due_soon_overdue_and_blocked_from_the_persons_own_today(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        workspace = make_workspace(session)
        ada = make_person(session, workspace.id, "Ada")
        ada.time_zone = "Pacific/Auckland"
        goal = make_goal(session, make_plan(session, workspace.id), ada)
        make_item(session, goal, ada, due=date(2027, 3, 9), title="due tomorrow in Auckland")
        make_item(session, goal, ada, due=date(2027, 3, 16), title="due in 8 days")
        make_item(session, goal, ada, due=date(2027, 3, 1), title="overdue")
        make_item(
            session, goal, ada, due=date(2027, 3, 12), status=ItemStatus.blocked, title="blocked"
        )
        make_item(session, goal, ada, due=date(2027, 3, 2), status=ItemStatus.done, title="done")
        session.flush()

        # 7 March 22:00 UTC is already Monday 8 March in Auckland.
        glance = owner_week(session, ada, at("2027-03-07 22:00"))

        assert glance.today == date(2027, 3, 8)
        assert [item.title for item in glance.due_soon] == ["due tomorrow in Auckland", "blocked"]
        assert [item.title for item in glance.overdue] == ["overdue"]
        assert [item.title for item in glance.blocked] == ["blocked"]
