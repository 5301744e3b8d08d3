"""Progress by estimate, computed in SQL, and its change since a week ago from the event history."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from app.errors import NotFound
from app.models import ItemStatus
from app.services.progress import goal_progress, plan_progress
from tests.execution.factories import (
    at,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
    set_estimate,
    set_status,
)

NOW = at("2027-01-20 12:00")


def test_goal_without_items_has_no_progress_value(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    progress = goal_progress(session, workspace.id, goal.id, now=NOW)
    assert (progress.percent, progress.percent_week_ago, progress.change) == (None, None, None)
    assert progress.total_hours == 0


def test_all_dropped_items_count_as_no_work(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    make_item(session, goal, owner, estimate=5, status=ItemStatus.dropped)
    progress = goal_progress(session, workspace.id, goal.id, now=NOW)
    assert progress.percent is None
    assert progress.item_count == 0


def test_progress_is_weighted_by_estimate_and_ignores_dropped(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    make_item(session, goal, owner, estimate=6, status=ItemStatus.done)
    make_item(session, goal, owner, estimate=2)
    make_item(session, goal, owner, estimate=100, status=ItemStatus.dropped)
    progress = goal_progress(session, workspace.id, goal.id, now=NOW)
    assert progress.percent == 75.0
    assert (
        progress.done_hours,
        progress.total_hours,
        progress.done_count,
        progress.item_count,
    ) == (6, 8, 1, 2)


def test_change_since_last_week_replays_the_history(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    plan = make_plan(session, workspace.id)
    goal = make_goal(session, plan, owner)
    first = make_item(session, goal, owner, estimate=4, created=at("2027-01-05 09:00"))
    second = make_item(session, goal, owner, estimate=4, created=at("2027-01-05 09:00"))
    set_status(
        session, first, ItemStatus.done, at("2027-01-10 10:00")
    )  # before the cut-off (Jan 13 12:00)
    set_status(session, second, ItemStatus.done, at("2027-01-15 10:00"))  # after it
    set_estimate(session, second, 8, at("2027-01-16 10:00"))
    late = make_item(
        session, goal, owner, estimate=4, created=at("2027-01-18 09:00")
    )  # did not exist then
    assert late.id
    progress = goal_progress(session, workspace.id, goal.id, now=NOW)
    assert progress.percent == 75.0  # 12 of 16 h
    assert progress.percent_week_ago == 50.0  # 4 of 8 h
    assert progress.change == 25.0
    plan_figures = plan_progress(session, workspace.id, plan.id, now=NOW)
    assert (plan_figures.percent, plan_figures.percent_week_ago) == (75.0, 50.0)


def test_item_dropped_this_week_leaves_last_weeks_figure_intact(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    make_item(
        session, goal, owner, estimate=2, status=ItemStatus.done, created=at("2027-01-05 09:00")
    )
    dropped = make_item(session, goal, owner, estimate=6, created=at("2027-01-05 09:00"))
    set_status(session, dropped, ItemStatus.dropped, at("2027-01-19 09:00"))
    progress = goal_progress(session, workspace.id, goal.id, now=NOW)
    assert (progress.percent, progress.percent_week_ago, progress.change) == (100.0, 25.0, 75.0)


def test_plan_progress_sums_goals_and_keeps_goals_without_items(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    plan = make_plan(session, workspace.id)
    busy = make_goal(session, plan, owner, title="busy", created=at("2027-01-01 00:00"))
    make_goal(session, plan, owner, title="empty", created=at("2027-01-02 00:00"))
    make_item(session, busy, owner, estimate=3, status=ItemStatus.done, due=date(2027, 1, 8))
    make_item(session, busy, owner, estimate=1)
    progress = plan_progress(session, workspace.id, plan.id, now=NOW)
    assert [goal.title for goal in progress.goals] == ["busy", "empty"]
    assert progress.percent == 75.0
    assert progress.goals[1].percent is None


def test_progress_of_another_workspaces_goal_is_not_found(session: Session) -> None:
    mine, theirs = make_workspace(session, "a"), make_workspace(session, "b")
    owner = make_person(session, theirs.id)
    goal = make_goal(session, make_plan(session, theirs.id), owner)
    with pytest.raises(NotFound):
        goal_progress(session, mine.id, goal.id, now=NOW)


def test_week_ago_figures_replay_items_moved_between_goals_and_changed_several_times(
    session: Session,
) -> None:
    # The week-ago figure is summed per goal in the database: an item moved to another goal of
    # the plan since the cut-off counts for its old goal then, and only its last snapshot before
    # the cut-off counts, however many events it has before and after it.
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id)
    plan = make_plan(session, workspace.id)
    old_goal = make_goal(session, plan, owner, "Old", created=at("2027-01-01 00:00"))
    new_goal = make_goal(session, plan, owner, "New", created=at("2027-01-02 00:00"))
    moved = make_item(session, old_goal, owner, estimate=4, created=at("2027-01-05 09:00"))
    set_status(session, moved, ItemStatus.in_progress, at("2027-01-07 09:00"))
    set_status(session, moved, ItemStatus.done, at("2027-01-11 09:00"))
    set_status(session, moved, ItemStatus.in_progress, at("2027-01-15 09:00"))
    moved.goal_id = new_goal.id
    session.add(moved)
    set_status(session, moved, ItemStatus.done, at("2027-01-16 09:00"))
    stay = make_item(session, old_goal, owner, estimate=4, created=at("2027-01-05 09:00"))
    set_status(session, stay, ItemStatus.blocked, at("2027-01-17 09:00"))
    progress = {
        goal.title: goal for goal in plan_progress(session, workspace.id, plan.id, now=NOW).goals
    }
    assert (progress["Old"].percent, progress["Old"].percent_week_ago) == (0.0, 50.0)
    assert (progress["New"].percent, progress["New"].percent_week_ago) == (100.0, None)
    plan_figures = plan_progress(session, workspace.id, plan.id, now=NOW)
    assert (plan_figures.percent, plan_figures.percent_week_ago) == (50.0, 50.0)
