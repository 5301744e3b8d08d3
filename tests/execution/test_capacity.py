"""Capacity rules at their edges: spans across weeks and years, zero and undeclared capacity,
DST."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlmodel import Session

from app.errors import InvalidField
from app.models import ItemStatus, Person
from app.schemas.weeks import IsoWeek, working_days
from app.services.capacity import (
    block_hours_in_week,
    plan_capacity,
    warn_owner_over_capacity,
    weekly_capacity,
)
from app.services.item_rules import MeasuredWarning, check_item
from app.services.spread import spread_estimate
from app.settings import Settings
from tests.execution.factories import (
    at,
    make_block,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
)


def week(text: str) -> IsoWeek:
    return IsoWeek.parse(text)


def test_iso_week_53_exists_only_in_long_years() -> None:
    assert week("2026-W53").monday == date(2026, 12, 28)
    assert week("2026-W53").shifted(1) == week("2027-W01")
    with pytest.raises(InvalidField) as error:
        IsoWeek.parse("2027-W53")
    assert "52 weeks" in error.value.detail
    with pytest.raises(InvalidField):
        IsoWeek.parse("2027-3")


def test_working_days_counts_monday_to_friday() -> None:
    assert working_days(date(2027, 1, 4), date(2027, 1, 10)) == 5
    assert working_days(date(2027, 1, 9), date(2027, 1, 10)) == 0
    assert working_days(date(2027, 1, 8), date(2027, 1, 11)) == 2
    assert working_days(date(2027, 1, 11), date(2027, 1, 8)) == 0


def test_estimate_spreads_over_working_days_across_weeks() -> None:
    # Thursday to next Tuesday: Thu, Fri | Mon, Tue -> 2 h per day.
    spread = spread_estimate(date(2027, 1, 7), date(2027, 1, 12), 8.0)
    assert spread == {week("2027-W01"): 4.0, week("2027-W02"): 4.0}


def test_estimate_spreads_across_the_year_boundary_into_week_53() -> None:
    # Wed 30 Dec 2026 (W53) to Tue 5 Jan 2027 (W01): 3 + 2 working days.
    spread = spread_estimate(date(2026, 12, 30), date(2027, 1, 5), 10.0)
    assert spread == {week("2026-W53"): 6.0, week("2027-W01"): 4.0}


def test_weekend_only_span_lands_in_the_due_week_and_start_after_due_counts_as_due() -> None:
    assert spread_estimate(date(2027, 1, 9), date(2027, 1, 10), 3.0) == {week("2027-W01"): 3.0}
    assert spread_estimate(date(2027, 1, 20), date(2027, 1, 12), 3.0) == {week("2027-W02"): 3.0}


def test_focus_block_across_a_daylight_saving_change_is_an_hour_shorter() -> None:
    person = Person(name="Ada", weekly_strategic_hours=None)
    sunday_night = make_block_value(person, weekday=6, start=time(1, 0), end=time(4, 0))
    # Europe/Berlin springs forward on Sunday 28 March 2027 (02:00 -> 03:00): ISO week 2027-W12.
    assert block_hours_in_week(sunday_night, week("2027-W12")) == 2.0
    assert block_hours_in_week(sunday_night, week("2027-W11")) == 3.0
    # Autumn back (31 October 2027, W43) makes the same block an hour longer.
    assert block_hours_in_week(sunday_night, week("2027-W43")) == 4.0
    assert weekly_capacity(person, [sunday_night], week("2027-W12")) == 2.0
    assert weekly_capacity(person, [], week("2027-W12")) is None


def make_block_value(person: Person, weekday: int, start: time, end: time):  # type: ignore[no-untyped-def]
    from app.models.execution import FocusBlock

    return FocusBlock(
        person_id=person.id,
        weekday=weekday,
        start_time=start,
        end_time=end,
        timezone="Europe/Berlin",
    )


def test_plan_capacity_reports_overload_per_person_and_week(session: Session) -> None:
    workspace = make_workspace(session)
    busy = make_person(session, workspace.id, "Busy", hours=6)
    idle = make_person(session, workspace.id, "Idle", hours=0)
    blocks_only = make_person(session, workspace.id, "Blocks", hours=None)
    make_block(session, blocks_only, 0, time(9), time(12))
    plan = make_plan(session, workspace.id, start=date(2027, 1, 4), end=date(2027, 1, 17))
    goal = make_goal(session, plan, busy)
    make_item(session, goal, busy, estimate=10, start=date(2027, 1, 4), due=date(2027, 1, 8))
    make_item(session, goal, busy, estimate=2, start=date(2027, 1, 11), due=date(2027, 1, 11))
    make_item(
        session, goal, busy, estimate=50, status=ItemStatus.done
    )  # finished work plans nothing
    make_item(session, goal, idle, estimate=1, start=date(2027, 1, 11), due=date(2027, 1, 11))
    make_item(session, goal, blocks_only, estimate=2, start=date(2027, 1, 4), due=date(2027, 1, 4))
    report = plan_capacity(session, workspace.id, plan.id)
    assert report.weeks == ["2027-W01", "2027-W02"]
    by_name = {person.name: person for person in report.people}
    assert [(w.planned_hours, w.capacity_hours, w.over_by) for w in by_name["Busy"].weeks] == [
        (10, 6, 4),
        (2, 6, 0),
    ]
    assert [w.over_by for w in by_name["Idle"].weeks] == [
        0,
        1,
    ]  # zero capacity: any hour is too much
    assert by_name["Blocks"].capacity_source == "focus_blocks"
    assert by_name["Blocks"].weeks[0].capacity_hours == 3.0
    assert {(entry["name"], entry["week"]) for entry in report.overloaded} == {
        ("Busy", "2027-W01"),
        ("Idle", "2027-W02"),
    }


def test_capacity_checker_warns_and_strict_mode_rejects(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id, "Ada", hours=4)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    fits = make_item(
        session,
        goal,
        owner,
        estimate=4,
        start=date(2027, 1, 4),
        due=date(2027, 1, 8),
        created=at("2027-01-01 00:00"),
    )
    settings = Settings(database_url="sqlite://")
    assert warn_owner_over_capacity(session, fits, settings) == []
    extra = make_item(
        session, goal, owner, estimate=2, start=date(2027, 1, 8), due=date(2027, 1, 8)
    )
    warnings = warn_owner_over_capacity(session, extra, settings)
    assert [warning.code for warning in warnings] == ["over_capacity"]
    assert "2027-W01" in warnings[0].message and "over by 2 h" in warnings[0].message
    strict = Settings(database_url="sqlite://", strict_capacity=True)
    (refusing,) = warn_owner_over_capacity(session, extra, strict)
    assert isinstance(refusing, MeasuredWarning) and refusing.rejection is not None
    with pytest.raises(InvalidField) as error:
        check_item(session, extra, strict)
    assert error.value.field == ["estimate_hours"]


def test_undeclared_capacity_never_warns(session: Session) -> None:
    workspace = make_workspace(session)
    owner = make_person(session, workspace.id, "Ada", hours=None)
    goal = make_goal(session, make_plan(session, workspace.id), owner)
    item = make_item(
        session, goal, owner, estimate=16, start=date(2027, 1, 4), due=date(2027, 1, 4)
    )
    assert (
        warn_owner_over_capacity(
            session, item, Settings(database_url="sqlite://", strict_capacity=True)
        )
        == []
    )
