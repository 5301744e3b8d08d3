"""The review read from indexes and stored parts equals the item-by-item replay, at every cut,
and a stored (frozen) finished week follows every change of its inputs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from app.errors import InvalidField
from app.models import Goal, ItemStatus, Person, Plan
from app.models.execution import CheckIn, Confidence, FrozenGoalReview, FrozenPlannedWeek
from app.schemas.weeks import IsoWeek
from app.services.goals import delete_goal
from app.services.items import delete_item
from app.services.reviews import freeze_last_week_reviews, weekly_review
from app.services.spread import hours_of_share, spread_estimate, week_share
from app.settings import Settings
from tests.execution.factories import (
    at,
    make_goal,
    make_item,
    make_person,
    make_plan,
    make_workspace,
    record,
    set_estimate,
    set_status,
)
from tests.execution.review_reference import reference_review
from tests.execution.test_reviews import WEEK, rewrite_history_after_the_week, script

SETTINGS = Settings(database_url="sqlite://")


def plan_goal(session: Session, plan: Plan, title: str) -> Goal:
    return session.exec(select(Goal).where(Goal.plan_id == plan.id, Goal.title == title)).one()


def richer_script(session: Session):  # type: ignore[no-untyped-def]
    """The scripted history of test_reviews plus due-date changes (one by the tracker, which is
    drift and not replayed), an estimate change, a move between goals, a sync event and items
    created and finished after the week."""
    workspace, plan, (a, b, c) = script(session)
    launch, quiet = plan_goal(session, plan, "Launch"), plan_goal(session, plan, "Quiet")
    ada = session.get(Person, a.owner_id)
    assert ada is not None
    d = make_item(
        session,
        launch,
        ada,
        title="G",
        estimate=3,
        due=date(2027, 1, 19),
        created=at("2027-01-11 09:00"),
    )
    d.due_date = date(2027, 1, 28)
    session.add(d)
    record(
        session,
        d,
        "planning",
        at("2027-01-20 11:00"),
        field="due_date",
        from_value="2027-01-19",
        to_value="2027-01-28",
    )
    record(
        session,
        d,
        "drift",
        at("2027-01-21 11:00"),
        field="due_date",
        from_value="2027-01-28",
        to_value="2027-01-30",
    )
    set_estimate(session, b, 6, at("2027-01-20 15:00"))
    c.goal_id = quiet.id
    session.add(c)
    record(session, c, "planning", at("2027-01-22 10:00"), field="goal_id", to_value=str(quiet.id))
    record(session, b, "sync", at("2027-01-23 10:00"), field="external_key", to_value="X-1")
    late = make_item(
        session,
        launch,
        ada,
        title="H",
        estimate=2,
        due=date(2027, 1, 29),
        created=at("2027-01-26 09:00"),
    )
    set_status(session, late, ItemStatus.done, at("2027-01-27 09:00"))
    return workspace, plan, (a, b, c)


CUTS = [
    "2027-01-17 12:00",  # before the week began
    "2027-01-18 08:59",
    "2027-01-19 16:00",
    "2027-01-21 08:00",
    "2027-01-22 12:00",
    "2027-01-24 23:59",
    "2027-01-25 00:05",  # finished, not yet frozen
    "2027-01-25 10:00",  # frozen from here on
    "2027-02-10 10:00",
]


@pytest.mark.parametrize("cut", CUTS)
def test_review_equals_the_event_by_event_replay(session: Session, cut: str) -> None:
    workspace, plan, _items = richer_script(session)
    now = at(cut)
    for week in (WEEK.shifted(-1), WEEK, WEEK.shifted(1)):
        if now < week.start_utc:
            with pytest.raises(InvalidField, match="has not begun"):
                weekly_review(session, workspace.id, plan.id, week, SETTINGS, now=now)
            continue
        expected = reference_review(session, workspace.id, plan.id, week, SETTINGS, now=now)
        assert (
            weekly_review(session, workspace.id, plan.id, week, SETTINGS, now=now, store=True)
            == expected
        )
        # Read again: a finished week now comes from its stored parts.
        assert (
            weekly_review(session, workspace.id, plan.id, week, SETTINGS, now=now, store=True)
            == expected
        )


def test_hours_in_a_week_are_the_capacity_spread_of_that_week() -> None:
    """The planned hours at a cut take one week of an item's spread (``week_share``, as the
    weekly review reads it): exactly (same float) the capacity rule's figure for that week,
    with weekend-only spans, a start after the due date,
    and weeks before, inside and after the span."""
    first = date(2026, 12, 24)
    for start_offset in range(0, 40, 3):
        for length in (-3, 0, 1, 2, 5, 6, 13, 30):
            start = first + timedelta(days=start_offset)
            due = start + timedelta(days=length)
            spread = spread_estimate(start, due, 7.5)
            for shift in range(-2, 8):
                week = IsoWeek.of(start).shifted(shift)
                got = hours_of_share(7.5, week_share(start, due, week))
                assert got == spread.get(week, 0.0)


def test_tracker_drift_of_a_due_date_is_not_a_due_date_change(session: Session) -> None:
    workspace, plan, _items = richer_script(session)
    review = weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-02-01 00:00")
    )
    (item,) = [i for i in review.goals[0].due_next_week if i.title == "G"]
    assert item.due_date == date(2027, 1, 28)  # planbridge's date, not the tracker's Jan 30


def frozen_rows(session: Session) -> list[FrozenGoalReview]:
    return list(session.exec(select(FrozenGoalReview)))


def test_finished_week_is_stored_once_and_names_stay_current(session: Session) -> None:
    workspace, plan, (a, _b, _c) = script(session)
    now = at("2027-01-25 10:00")
    first = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    assert len(frozen_rows(session)) == 2  # one per goal
    assert session.get(FrozenPlannedWeek, (workspace.id, str(WEEK))) is not None
    # Renamed after the week (as the API records it): the stored rows stay, the title is new.
    a.title = "A, renamed"
    session.add(a)
    record(session, a, "planning", at("2027-02-01 09:00"), field="title", to_value=a.title)
    assert len(frozen_rows(session)) == 2
    again = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    assert [i.title for i in again.goals[0].done] == ["A, renamed"]
    assert again == reference_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now)
    assert again.goals[0].percent_end == first.goals[0].percent_end


def test_running_or_just_finished_week_is_not_stored(session: Session) -> None:
    workspace, plan, _items = script(session)
    weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-22 10:00"), store=True
    )
    weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-25 00:05"), store=True
    )
    assert frozen_rows(session) == []


def test_event_written_into_a_stored_week_drops_it(session: Session) -> None:
    workspace, plan, (_a, b, _c) = script(session)
    now = at("2027-02-10 10:00")
    before = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    assert frozen_rows(session)
    # An imported history: B was finished inside the week after all.
    set_status(session, b, ItemStatus.done, at("2027-01-23 12:00"))
    assert frozen_rows(session) == []
    after = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    assert after == reference_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now)
    assert [i.title for i in after.goals[0].done] == ["A", "B"]
    assert after != before


def test_later_events_keep_the_stored_week(session: Session) -> None:
    workspace, plan, items = script(session)
    weekly_review(
        session, workspace.id, plan.id, WEEK, SETTINGS, now=at("2027-01-25 10:00"), store=True
    )
    stored = {row.goal_id for row in frozen_rows(session)}
    rewrite_history_after_the_week(session, items)
    assert {row.goal_id for row in frozen_rows(session)} == stored


def test_check_ins_of_a_stored_week_are_read_fresh(session: Session) -> None:
    """A check-in is not part of what is stored: one created late counts as late, one written
    into the week later (an import) shows at once as on time."""
    workspace, plan, _items = script(session)
    now = at("2027-02-10 10:00")
    weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    quiet = plan_goal(session, plan, "Quiet")
    late = CheckIn(
        workspace_id=workspace.id,
        owner_id=quiet.owner_id,
        goal_id=quiet.id,
        iso_week=str(WEEK),
        confidence=Confidence.off_track,
        needs_help=True,
        created_at=at("2027-01-26 09:00"),
    )
    session.add(late)
    session.flush()
    review = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    assert review.missing_check_ins == []
    assert [(c.goal, c.late) for c in review.check_ins] == [("Launch", False), ("Quiet", True)]
    assert review == reference_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now)
    late.created_at = at("2027-01-23 09:00")
    session.add(late)
    session.flush()
    review = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    assert review.missing_check_ins == [] and not any(c.late for c in review.check_ins)
    assert [c.goal for c in review.needs_help] == ["Launch", "Quiet"]
    assert review == reference_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now)


def test_deletions_drop_or_cascade_the_stored_parts(session: Session) -> None:
    workspace, plan, (a, _b, _c) = script(session)
    now = at("2027-02-10 10:00")
    weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    delete_item(session, workspace.id, a.id, actor="test")
    assert frozen_rows(session) == []
    assert session.get(FrozenPlannedWeek, (workspace.id, str(WEEK))) is None
    review = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    assert review.goals[0].done == []
    quiet = plan_goal(session, plan, "Quiet")
    delete_goal(session, workspace.id, quiet.id, actor="test")
    session.expire_all()
    assert quiet.id not in {row.goal_id for row in frozen_rows(session)}
    assert [
        g.title
        for g in weekly_review(
            session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True
        ).goals
    ] == ["Launch"]


def test_worker_freezes_last_week_once(session: Session) -> None:
    script(session)
    early = at("2027-01-25 00:05")
    assert freeze_last_week_reviews(session, SETTINGS, now=early) == 0
    now = at("2027-01-25 06:00")
    assert freeze_last_week_reviews(session, SETTINGS, now=now) >= 1
    assert {row.iso_week for row in frozen_rows(session)} == {str(WEEK)}
    assert freeze_last_week_reviews(session, SETTINGS, now=now) == 0


def test_goal_moved_to_another_plan_takes_its_stored_part(session: Session) -> None:
    workspace, plan, _items = script(session)
    now = at("2027-02-10 10:00")
    weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    other = make_plan(session, workspace.id)
    quiet = plan_goal(session, plan, "Quiet")
    quiet.plan_id = other.id
    session.add(quiet)
    session.flush()
    moved = weekly_review(session, workspace.id, other.id, WEEK, SETTINGS, now=now, store=True)
    assert moved == reference_review(session, workspace.id, other.id, WEEK, SETTINGS, now=now)
    assert [g.title for g in moved.goals] == ["Quiet"]


def test_owner_of_a_week_spanning_item_is_over_capacity_as_at_the_cut(session: Session) -> None:
    """Planned hours at a past cut: an item finished after the week still counts in it, one
    created after it does not, and an estimate raised later counts as it was."""
    workspace = make_workspace(session)
    ada = make_person(session, workspace.id, "Ada", hours=2)
    plan = make_plan(session, workspace.id)
    goal = make_goal(session, plan, ada, "Goal", created=at("2027-01-01 00:00"))
    spanning = make_item(
        session,
        goal,
        ada,
        title="S",
        estimate=10,
        start=date(2027, 1, 14),
        due=date(2027, 1, 26),
        created=at("2027-01-05 09:00"),
    )
    set_estimate(session, spanning, 16, at("2027-01-27 09:00"))
    set_status(session, spanning, ItemStatus.done, at("2027-01-28 09:00"))
    make_item(
        session,
        goal,
        ada,
        title="N",
        estimate=8,
        start=date(2027, 1, 18),
        due=date(2027, 1, 22),
        created=at("2027-01-26 09:00"),
    )
    now = at("2027-02-10 10:00")
    review = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    # S: 10 h over Thu 14 .. Tue 26 = 9 working days, 5 of them in W03.
    assert [(o.name, o.planned_hours) for o in review.over_capacity] == [("Ada", 5.56)]
    assert review == reference_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now)


def test_a_review_that_cannot_be_stored_does_not_hold_back_its_announcement(
    session: Session, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from app.models.execution import NotificationDelivery, Subscription
    from app.services.weekly_review import announce

    workspace, _plan, _items = script(session)
    session.add(
        Subscription(
            workspace_id=workspace.id,
            url="https://hooks.example/review",
            event_types=["review.ready"],
            secret_encrypted="not used here",
        )
    )
    session.flush()

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("storage is broken")

    monkeypatch.setattr(announce, "freeze_last_week_reviews", broken)
    assert announce.enqueue_ready_reviews(session, SETTINGS, now=at("2027-01-25 06:00")) == 1
    assert "storing last week's reviews failed" in caplog.text
    assert frozen_rows(session) == []
    assert len(session.exec(select(NotificationDelivery)).all()) == 1


def test_reassigned_item_moves_its_planned_hours_as_a_recomputation_would(
    session: Session,
) -> None:
    workspace, plan, (_a, b, _c) = script(session)
    now = at("2027-02-10 10:00")
    weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    bob = plan_goal(session, plan, "Quiet").owner_id
    b.owner_id = bob
    b.start_date = date(2027, 1, 18)
    session.add(b)
    record(session, b, "planning", at("2027-02-01 09:00"), field="owner_id", to_value=str(bob))
    assert session.get(FrozenPlannedWeek, (workspace.id, str(WEEK))) is None
    # Staleness reads the owner's weekly hours and the start date: the lists are recomputed.
    assert frozen_rows(session) == []
    review = weekly_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now, store=True)
    assert review == reference_review(session, workspace.id, plan.id, WEEK, SETTINGS, now=now)
    assert [o.name for o in review.over_capacity] == ["Bob"]
