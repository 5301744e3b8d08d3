"""The weekly review of a scripted history: exact for the running week, and unchanged when read
later."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from app.models import ItemStatus
from app.models.execution import CheckIn, Confidence
from app.routes.reviews import render_review_markdown
from app.schemas.weeks import IsoWeek
from app.services.reviews import weekly_review
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

SETTINGS = Settings(database_url="sqlite://")
WEEK = IsoWeek.parse("2027-W03")  # Monday 18 to Sunday 24 January 2027


def titles(items) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.title for item in items]


def script(session: Session):  # type: ignore[no-untyped-def]
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id, "Ada", hours=10)
    bob = make_person(session, workspace.id, "Bob", hours=1)
    plan = make_plan(session, workspace.id)
    goal = make_goal(session, plan, ada, "Launch", created=at("2027-01-01 00:00"))
    quiet = make_goal(session, plan, bob, "Quiet", created=at("2027-01-02 00:00"))
    created = at("2027-01-05 09:00")
    a = make_item(session, goal, ada, title="A", estimate=4, due=date(2027, 1, 20), created=created)
    b = make_item(session, goal, ada, title="B", estimate=4, due=date(2027, 1, 29), created=created)
    c = make_item(session, goal, ada, title="C", estimate=2, due=date(2027, 1, 22), created=created)
    make_item(session, goal, ada, title="D", estimate=2, due=date(2027, 1, 15), created=created)
    f = make_item(session, goal, ada, title="F", estimate=2, due=date(2027, 1, 14), created=created)
    set_status(session, f, ItemStatus.done, at("2027-01-12 10:00"))
    make_item(
        session,
        goal,
        ada,
        title="E",
        estimate=2,
        due=date(2027, 1, 27),
        created=at("2027-01-19 08:00"),
    )
    make_item(
        session,
        quiet,
        bob,
        title="Q",
        estimate=3,
        start=date(2027, 1, 18),
        due=date(2027, 1, 22),
        created=created,
    )
    set_status(session, b, ItemStatus.in_progress, at("2027-01-18 09:00"))
    set_status(session, a, ItemStatus.done, at("2027-01-19 16:00"))
    set_status(session, c, ItemStatus.blocked, at("2027-01-21 09:00"))
    session.add(
        CheckIn(
            workspace_id=workspace.id,
            owner_id=ada.id,
            goal_id=goal.id,
            iso_week="2027-W03",
            confidence=Confidence.at_risk,
            note="C waits on legal",
            needs_help=True,
            created_at=at("2027-01-22 15:00"),
        )
    )
    session.flush()
    return workspace, plan, (a, b, c)


def rewrite_history_after_the_week(session: Session, items) -> None:  # type: ignore[no-untyped-def]
    a, b, c = items
    set_status(session, a, ItemStatus.in_progress, at("2027-01-26 09:00"))
    set_status(session, b, ItemStatus.done, at("2027-01-27 09:00"))
    c.due_date = date(2027, 2, 5)
    session.add(c)
    record(
        session,
        c,
        "planning",
        at("2027-01-27 10:00"),
        field="due_date",
        from_value="2027-01-22",
        to_value="2027-02-05",
    )
    replaced = session.exec(select(CheckIn)).one()
    replaced.replaced_at = at("2027-01-26 08:00")
    session.add(replaced)
    session.flush()
    session.add(
        CheckIn(
            workspace_id=replaced.workspace_id,
            owner_id=replaced.owner_id,
            goal_id=replaced.goal_id,
            iso_week="2027-W03",
            confidence=Confidence.on_track,
            created_at=at("2027-01-26 08:00"),
        )
    )
    session.flush()


def test_review_of_a_finished_week_is_exact(session: Session) -> None:
    workspace, plan, _items = script(session)
    review = weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-25 10:00")
    )
    launch, quiet = review.goals
    assert review.complete is True
    assert (launch.percent_start, launch.percent_end, launch.change) == (14.29, 37.5, 23.21)
    assert titles(launch.done) == ["A"]
    assert titles(launch.started) == ["B"]
    assert titles(launch.newly_blocked) == ["C"]
    assert titles(launch.overdue) == ["D", "C"]  # by due date: D (Jan 15), C (Jan 22)
    # D, quiet since Jan 5, is overdue: listed there only. B is in progress and moved this week.
    assert launch.stale == []
    assert titles(launch.due_next_week) == ["E", "B"]
    assert titles(quiet.overdue) == ["Q"] and quiet.done == []
    assert [entry.goal for entry in review.needs_help] == ["Launch"]
    assert [(entry.goal, entry.owner) for entry in review.missing_check_ins] == [("Quiet", "Bob")]
    assert [(entry.name, entry.planned_hours, entry.over_by) for entry in review.over_capacity] == [
        ("Bob", 3.0, 2.0)
    ]


def test_past_week_reads_the_same_after_later_changes(session: Session) -> None:
    workspace, plan, items = script(session)
    before = weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-25 10:00")
    )
    rewrite_history_after_the_week(session, items)
    after = weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-02-10 10:00")
    )
    # What happened in the week reads the same; Ada's check-in, replaced late, counts as late.
    assert (after.goals, after.over_capacity) == (before.goals, before.over_capacity)
    assert after.missing_check_ins == before.missing_check_ins
    assert [(c.goal, c.confidence, c.late) for c in after.check_ins] == [
        ("Launch", "on_track", True)
    ]
    goals_text = render_review_markdown(after).split("## Goals")[1].split("## Check-ins")[0]
    assert (
        goals_text == render_review_markdown(before).split("## Goals")[1].split("## Check-ins")[0]
    )
    # The next week does see the changes.
    next_week = weekly_review(
        session, workspace.id, plan.id, WEEK.shifted(1), SETTINGS, now=at("2027-02-10 10:00")
    )
    assert titles(next_week.goals[0].done) == ["B"]
    assert titles(next_week.goals[0].started) == []  # A went back from done, B was already started


def test_review_of_the_running_week_cuts_at_now(session: Session) -> None:
    workspace, plan, _items = script(session)
    review = weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-21 08:00")
    )
    launch = review.goals[0]
    assert review.complete is False
    assert titles(launch.done) == ["A"] and launch.newly_blocked == []  # C is blocked at 09:00
    assert titles(launch.overdue) == ["D"]  # A is done; nothing else is due before Jan 21
    assert review.check_ins == [] and len(review.missing_check_ins) == 2


def test_markdown_lists_needs_help_before_the_goals(session: Session) -> None:
    workspace, plan, _items = script(session)
    text = render_review_markdown(
        weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-25 10:00"))
    )
    assert text.startswith("# 2027 Q1: weekly review 2027-W03")
    assert text.index("## Needs help") < text.index("## Goals") < text.index("## Over capacity")
    assert "- **Launch** (Ada, at risk): C waits on legal." in text
    assert "Missing: Quiet (Bob)" in text


def test_markdown_needs_help_keeps_the_note_and_the_blockers_apart(session: Session) -> None:
    workspace, plan, _items = script(session)
    check_in = session.exec(select(CheckIn)).one()
    check_in.blockers = "the vendor contract"
    session.add(check_in)
    session.flush()
    text = render_review_markdown(
        weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-25 10:00"))
    )
    assert "- **Launch** (Ada, at risk): C waits on legal. Blockers: the vendor contract." in text
    assert "- Launch (Ada): at risk. C waits on legal." in text


def test_items_finished_before_the_week_count_but_are_not_replayed(session: Session) -> None:
    """Done or dropped before the week and untouched: hours at both instants, never listed; a
    dropped item restored in the week is replayed; an owner of only finished items in the plan is
    still checked for capacity (their open work elsewhere counts)."""
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id, "Ada", hours=10)
    cy = make_person(session, workspace.id, "Cy", hours=1)
    plan = make_plan(session, workspace.id)
    goal = make_goal(session, plan, ada, "Goal", created=at("2027-01-01 00:00"))
    created = at("2027-01-05 09:00")
    finished = make_item(
        session, goal, cy, title="X", estimate=2, due=date(2027, 1, 11), created=created
    )
    set_status(session, finished, ItemStatus.done, at("2027-01-08 10:00"))
    restored = make_item(
        session, goal, ada, title="Y", estimate=4, due=date(2027, 1, 20), created=created
    )
    set_status(session, restored, ItemStatus.dropped, at("2027-01-10 10:00"))
    set_status(session, restored, ItemStatus.todo, at("2027-01-19 10:00"))
    elsewhere = make_goal(session, make_plan(session, workspace.id), cy, "Elsewhere")
    make_item(
        session,
        elsewhere,
        cy,
        title="Z",
        estimate=5,
        start=date(2027, 1, 18),
        due=date(2027, 1, 22),
        created=created,
    )
    review = weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-25 10:00")
    )
    (entry,) = review.goals
    assert (entry.percent_start, entry.percent_end, entry.change) == (100.0, 33.33, -66.67)
    assert entry.done == [] and titles(entry.overdue) == ["Y"]
    assert [(o.name, o.planned_hours, o.over_by) for o in review.over_capacity] == [
        ("Cy", 5.0, 4.0)
    ]
