"""Nudges through the worker's people loop with a real SMTP server and chat receiver on loopback,
the clock moved through days, on SQLite and PostgreSQL: once per item and reason, the escalation
order, quiet hours and weekends, the weekly cap, opt-out, and no channel."""

from __future__ import annotations

from datetime import date, time
from email.message import Message as Email

from sqlmodel import Session

from app.models import ActionItem, ItemStatus, NudgeAudience, NudgeReason, NudgeState, Person
from app.services.messages.channels import update_channels
from tests.execution.factories import at, set_status
from tests.messages.servers import ChatReceiver
from tests.nudges.conftest import Team, set_workspace

MONDAY = at("2027-03-01 09:00")  # Ada's item was due on Friday 2027-02-26


def plain_text(mail: Email) -> str:
    [text] = [part for part in mail.walk() if part.get_content_type() == "text/plain"]
    payload = text.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def subjects(team: Team, person: Person) -> list[str]:
    return [str(mail["Subject"]) for mail in team.mail_to(person)]


def test_an_overdue_item_is_told_to_its_owner_once_with_an_unsubscribe_link(team: Team) -> None:
    team.tick(MONDAY)
    team.tick(at("2027-03-01 09:05"))
    team.tick(at("2027-03-01 15:00"))

    [mail] = team.mail_to(team.ada)
    assert mail["Subject"] == '"Ship the form" is overdue'
    assert mail["List-Unsubscribe"].startswith("<https://plans.example.com/unsubscribe/")
    body = plain_text(mail)
    assert 'Your item "Ship the form" (goal "Onboarding", plan "2027 Q1")' in body
    assert "was due on 2027-02-26 and is still in progress" in body
    [nudge] = team.nudges()
    assert (nudge.reason, nudge.audience, nudge.state) == (
        NudgeReason.overdue,
        NudgeAudience.owner,
        NudgeState.queued,
    )


def test_escalation_goes_to_the_goal_owner_then_the_plan_owner_three_working_days_apart(
    team: Team,
) -> None:
    team.tick(MONDAY)
    # Wednesday is 2 working days later: still Ada's to act on.
    team.tick(at("2027-03-03 09:30"))
    assert subjects(team, team.grace) == []

    team.tick(at("2027-03-04 09:00"))  # Thursday: 3 working days
    assert subjects(team, team.grace) == ['"Ship the form" is overdue']
    grace_body = plain_text(team.mail_to(team.grace)[0])
    assert "Ada Lovelace's item" in grace_body and "You own the goal" in grace_body

    # Friday and Monday are 1 and 2 working days after Thursday; the weekend does not count.
    team.tick(at("2027-03-05 09:00"))
    team.tick(at("2027-03-08 09:00"))
    assert subjects(team, team.linus) == []
    team.tick(at("2027-03-09 09:00"))
    assert subjects(team, team.linus) == ['"Ship the form" is overdue']

    overdue = [n for n in team.nudges() if n.reason == NudgeReason.overdue]
    assert [n.audience for n in overdue] == [
        NudgeAudience.owner,
        NudgeAudience.goal_owner,
        NudgeAudience.plan_owner,
    ]
    assert len(team.mail_to(team.ada)) == len({n.reason for n in team.nudges()})


def test_activity_on_the_item_restarts_the_wait_and_finishing_it_ends_the_chain(
    team: Team,
) -> None:
    team.tick(MONDAY)
    team.change(ActionItem, team.item.id, last_activity_at=at("2027-03-03 10:00"))

    team.tick(at("2027-03-04 09:00"))  # 3 working days after Ada was told, 1 after the activity
    assert subjects(team, team.grace) == []
    team.tick(at("2027-03-08 10:00"))  # 3 working days after the activity
    assert subjects(team, team.grace) == ['"Ship the form" is overdue']

    with Session(team.engine) as session:
        item = session.get(ActionItem, team.item.id)
        assert item is not None
        set_status(session, item, ItemStatus.done, at("2027-03-09 10:00"))
        session.commit()
    team.tick(at("2027-03-12 10:00"))
    assert subjects(team, team.linus) == []


def test_a_blocked_item_is_told_after_more_than_two_working_days(team: Team) -> None:
    with Session(team.engine) as session:
        item = session.get(ActionItem, team.item.id)
        assert item is not None
        item.due_date = date(2027, 3, 31)
        set_status(session, item, ItemStatus.blocked, at("2027-03-04 11:00"))  # a Thursday
        session.commit()

    team.tick(at("2027-03-08 10:00"))  # Friday and Monday: not yet more than 2 working days
    team.tick(at("2027-03-08 11:00"))
    assert subjects(team, team.ada) == []
    team.tick(at("2027-03-08 11:01"))
    assert subjects(team, team.ada) == ['"Ship the form" is blocked']


def test_quiet_hours_hold_a_nudge_until_the_morning_in_the_owners_time_zone(team: Team) -> None:
    team.change(Person, team.ada.id, time_zone="Asia/Tokyo")

    team.tick(at("2027-03-01 12:00"))  # 21:00 in Tokyo
    team.tick(at("2027-03-01 22:30"))  # 07:30 in Tokyo
    assert subjects(team, team.ada) == []
    [nudge] = team.nudges()
    assert (nudge.state, nudge.hold_until) == (NudgeState.held, at("2027-03-01 23:00"))

    team.tick(at("2027-03-01 23:00"))  # 08:00 in Tokyo
    assert subjects(team, team.ada) == ['"Ship the form" is overdue']


def test_a_nudge_due_on_a_weekend_is_held_until_monday_morning(team: Team) -> None:
    set_workspace(
        team.engine, team.workspace_id, quiet_hours_start=time(22), quiet_hours_end=time(7)
    )
    weekend_item = team.add_item(
        "Write the FAQ",
        date(2027, 3, 5),  # due Friday: overdue from Saturday on
        status=ItemStatus.in_progress,
        created=at("2027-03-05 08:00"),
    )
    team.tick(at("2027-03-06 10:00"))  # Saturday
    team.tick(at("2027-03-07 18:00"))  # Sunday
    assert subjects(team, team.ada) == []
    [held] = [n for n in team.nudges() if n.item_id == weekend_item.id]
    assert held.hold_until == at("2027-03-08 07:00")

    team.tick(at("2027-03-08 07:00"))
    assert '"Write the FAQ" is overdue' in subjects(team, team.ada)


def test_the_weekly_cap_holds_the_rest_until_next_week_without_dropping_them(team: Team) -> None:
    set_workspace(team.engine, team.workspace_id, nudge_weekly_cap=2)
    for title in ("Draft the copy", "Book the room"):
        team.add_item(
            title, date(2027, 2, 25), status=ItemStatus.in_progress, created=at("2027-03-01 08:00")
        )

    team.tick(MONDAY)
    team.tick(at("2027-03-05 16:00"))
    assert len(team.mail_to(team.ada)) == 2
    [held] = [n for n in team.nudges() if n.state == NudgeState.held]
    assert held.hold_until == at("2027-03-08 08:00")  # next Monday, after the quiet hours

    team.tick(at("2027-03-08 08:00"))
    assert len(team.mail_to(team.ada)) == 3
    assert len(set(subjects(team, team.ada))) == 3


def test_an_owner_who_opted_out_gets_nothing_and_the_goal_owner_still_hears_by_chat(
    team: Team, chat: ChatReceiver
) -> None:
    with Session(team.engine) as session:
        update_channels(
            session,
            team.workspace_id,
            team.ada.id,
            {"nudges_opted_out": True},
            team.settings,
            MONDAY,
        )
        update_channels(
            session,
            team.workspace_id,
            team.grace.id,
            {"chat_webhook_url": chat.url, "email_enabled": False},
            team.settings,
            MONDAY,
        )
        session.commit()

    team.tick(MONDAY)
    assert subjects(team, team.ada) == []
    assert [n.state for n in team.nudges()] == [NudgeState.opted_out]

    team.tick(at("2027-03-04 09:00"))
    assert subjects(team, team.grace) == []
    [posted] = chat.received
    assert posted["text"].startswith('*"Ship the form" is overdue*')
    assert "Ada Lovelace's item" in posted["text"]


def test_a_person_without_any_channel_is_recorded_as_unreachable(team: Team) -> None:
    team.change(Person, team.ada.id, email=None)

    team.tick(MONDAY)

    assert [n.state for n in team.nudges()] == [NudgeState.unreachable]
    assert team.smtp.received == []


def test_the_same_person_at_two_stages_is_told_once(team: Team) -> None:
    with Session(team.engine) as session:
        from app.models import Goal

        goal = session.get(Goal, team.item.goal_id)
        assert goal is not None
        goal.owner_id = team.ada.id
        session.add(goal)
        session.commit()

    team.tick(MONDAY)
    team.tick(at("2027-03-04 09:00"))
    team.tick(at("2027-03-09 09:00"))

    # (By Tuesday the item has had no activity for 8 days: stale too, a reason of its own.)
    assert [s for s in subjects(team, team.ada) if "overdue" in s] == ['"Ship the form" is overdue']
    assert subjects(team, team.linus) == ['"Ship the form" is overdue']
    assert [n.state for n in team.nudges() if n.reason == NudgeReason.overdue] == [
        NudgeState.queued,
        NudgeState.skipped,
        NudgeState.queued,
    ]
